"""Statistics of chapter 4: percentiles against random controls, Fisher and Bates combination,
Benjamini-Hochberg correction and effect measures (pure numpy/scipy).

Names are imported on first use (:mod:`nnstructure.lazy`): the workflow reads the effect definitions at every
Snakemake start, and importing scipy.stats for them cost about half a CPU-second a call.
"""

from nnstructure.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "bates": ("bates_cdf",),
    "effect": ("EffectMeasure", "effect_measure", "effect_values"),
    "fisher": ("fisher_p_value", "fisher_statistic", "null_fisher_statistic"),
    "multiple_testing": ("BHResult", "benjamini_hochberg"),
    "percentile": ("TIE_RULES", "percentile"),
})
