"""nnstructure: reproduce *Structure and Representation in Neural Networks* (Filan, 2024).

The package holds all the logic; the Snakemake workflow (``Snakefile``, ``rules/``)
only calls thin scripts in ``workflow_scripts/`` or the ``nnstructure`` CLI.
"""

from nnstructure.device import use_huge_pages

__version__ = "0.1.0"

use_huge_pages()  # before torch allocates anything: large activations in 2 MiB pages (nnstructure.device)
