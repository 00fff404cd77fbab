"""Statistics of chapter 4: percentiles against random controls, Fisher and Bates combination,
Benjamini-Hochberg correction and effect measures (pure numpy/scipy)."""

from nnstructure.stats.bates import bates_cdf
from nnstructure.stats.effect import EffectMeasure, effect_measure, effect_values
from nnstructure.stats.fisher import fisher_p_value, fisher_statistic, null_fisher_statistic
from nnstructure.stats.multiple_testing import BHResult, benjamini_hochberg
from nnstructure.stats.percentile import TIE_RULES, percentile

__all__ = [
    "BHResult",
    "EffectMeasure",
    "TIE_RULES",
    "bates_cdf",
    "benjamini_hochberg",
    "effect_measure",
    "effect_values",
    "fisher_p_value",
    "fisher_statistic",
    "null_fisher_statistic",
    "percentile",
]
