"""nnstructure: reproduce *Structure and Representation in Neural Networks* (Filan, 2024).

The package holds all the logic; the Snakemake workflow (``Snakefile``, ``rules/``)
only calls thin scripts in ``workflow_scripts/`` or the ``nnstructure`` CLI.
"""

__version__ = "0.1.0"
