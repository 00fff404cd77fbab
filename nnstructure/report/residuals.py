"""Residuals in standard deviations: how far a scorecard's comparison is from the thesis, in the s.d. its
criterion uses, and the largest of them (the combined scorecard lists them; FIDELITY.md explains them)."""

from __future__ import annotations

import pandas as pd

#: Optional scorecard column: a comparison's difference in the standard deviations its criterion uses (chapter
#: 3's n-cuts: the thesis's shuffle s.d., or its n-cut s.d. over networks; chapter 4's effect measures: the
#: combined standard error); empty where the criterion is not in standard deviations.
RESIDUAL_SD = "diff_sd"
#: How many of the largest residuals :func:`largest_residuals` lists.
N_LARGEST_RESIDUALS = 10


def largest_residuals(card: pd.DataFrame, n: int = N_LARGEST_RESIDUALS) -> pd.DataFrame:
    """The ``n`` comparisons farthest from the thesis in standard deviations (by ``|diff_sd|``), largest first."""
    if RESIDUAL_SD not in card.columns:
        return card.iloc[0:0]
    sd = pd.to_numeric(card[RESIDUAL_SD], errors="coerce")
    order = sd.dropna().abs().sort_values(ascending=False, kind="stable").index[:n]
    return card.loc[order].assign(**{RESIDUAL_SD: sd.loc[order]})
