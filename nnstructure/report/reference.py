"""The thesis's published chapter-3 numbers, shipped as package data.

``nnstructure/reference/thesis_ch3.csv`` holds one row per row of Tables 3.1-3.11
and A.1-A.11 of Filan (2024), transcribed at the printed precision.  Key columns
(:data:`KEY_COLUMNS`) name the experiment cell; value columns are empty where a
table does not print them.  Conventions used in the transcription:

* ``pruned`` is the "Pruning?" tick; Tables 3.2-3.10 report pruned networks only
  (3.4-3.6 also give the pre-pruning n-cut as ``unpruned_ncut``).  A.6's
  "Control ✓" row is ``reg == "none"``, pruned.
* ``n_beat_all`` / ``n_networks`` come from "Prop. p < 0.02" (or "< 1/320"),
  i.e. how many networks were more clusterable than *all* their shuffles.
* ``n_shuffles`` is 50, 320 for Tables 3.7-3.10 and 100 for A.7.  Tables 3.2/3.3
  report no shuffle statistics; their ``n_shuffles`` is the chapter default.
* Table 3.5 (kilo-epoch random dataset) has ``epochs_variant == "kilo-epoch"``.
* A.7's ImageNet networks are pretrained downloads: ``init == "pretrained"``;
  their accuracy is ``top1_accuracy`` and their ``p_value`` is printed directly.
* Halves/stack datasets are ``{mnist,fashion}-{halves,stack}-{same,diff}``;
  Table 3.11 is ``arch == "mlp-7x7"`` on ``dataset == "mnist-7x7"`` with
  ``reg == "spectral"`` for the clusterability regulariser.

``figure_a_ranges.csv`` holds the n-cut ranges of 100 randomly initialised
networks quoted in the text for Figures A.1-A.3 (MLP 10.2-10.4, small CNN
10.90-10.95, VGG 8.45-8.63).
"""

from __future__ import annotations

import importlib.resources

import pandas as pd

KEY_COLUMNS: tuple[str, ...] = ("arch", "dataset", "reg", "pruned", "init", "k", "n_shuffles", "epochs_variant")
VALUE_COLUMNS: tuple[str, ...] = (
    "ncut", "ncut_std", "unpruned_ncut", "unpruned_ncut_std", "shuffle_mean", "shuffle_std",
    "p_value", "train_accuracy", "test_accuracy", "train_loss", "test_loss", "top1_accuracy",
)


def _read_package_csv(name: str) -> pd.DataFrame:
    resource = importlib.resources.files("nnstructure") / "reference" / name
    if not resource.is_file():
        raise FileNotFoundError(
            f"package data nnstructure/reference/{name} is missing; reinstall nnstructure "
            "(pip install -e .) so its reference CSVs are included"
        )
    with resource.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def load_thesis_reference() -> pd.DataFrame:
    """Return the thesis's chapter-3 table rows (one row per printed table row).

    Columns: ``table`` (str, e.g. "A.1", "3.10"), the :data:`KEY_COLUMNS`
    (``pruned`` bool, ``k``/``n_shuffles`` int, the rest str), ``n_networks`` and
    ``n_beat_all`` (nullable Int64) and the float :data:`VALUE_COLUMNS` (NaN where
    the table does not print the value).
    """
    return parse_thesis_reference(_read_package_csv("thesis_ch3.csv"))


def parse_thesis_reference(raw: pd.DataFrame) -> pd.DataFrame:
    """Typed columns of ``thesis_ch3.csv`` read as text (see :func:`load_thesis_reference`)."""
    df = raw[["table", "arch", "dataset", "reg", "init", "epochs_variant"]].copy()
    df["pruned"] = raw["pruned"].map({"true": True, "false": False}).astype(bool)
    for column in ("k", "n_shuffles"):
        df[column] = raw[column].astype(int)
    for column in ("n_networks", "n_beat_all"):
        df[column] = pd.to_numeric(raw[column].replace("", None)).astype("Int64")
    for column in VALUE_COLUMNS:
        df[column] = pd.to_numeric(raw[column].replace("", None), errors="raise").astype(float)
    return df[["table", *KEY_COLUMNS, "n_networks", "n_beat_all", *VALUE_COLUMNS]]


def load_random_init_ranges() -> pd.DataFrame:
    """Return the thesis's n-cut ranges of randomly initialised networks (Figures A.1-A.3).

    Columns: ``figure``, ``arch``, ``dataset``, ``n_networks`` (int), ``ncut_min``,
    ``ncut_max`` (float).  The ranges are for k = 12 clusters.
    """
    raw = _read_package_csv("figure_a_ranges.csv")
    df = raw[["figure", "arch", "dataset"]].copy()
    df["n_networks"] = raw["n_networks"].astype(int)
    df["ncut_min"] = raw["ncut_min"].astype(float)
    df["ncut_max"] = raw["ncut_max"].astype(float)
    return df
