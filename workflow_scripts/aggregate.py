"""Snakemake entry point: concatenate per-network rows and shuffle distributions."""

import pandas as pd

from nnstructure.io import read_parquet, write_parquet

sm = snakemake  # noqa: F821 (injected by Snakemake)
rows = pd.concat([read_parquet(p) for p in sm.input.rows], ignore_index=True)
write_parquet(rows, sm.output.rows)

# Each shuffled network's n-cut, with its network's identifying columns repeated.
# input.shuffles lists the shuffle tables of the rows that have shuffles, in row order.
keys = ["experiment", "condition", "seed", "arch", "dataset", "reg", "init", "pruned", "phase", "k", "shuffle"]
with_shuffles = rows[rows["shuffle"] != "none"]
frames = []
for path, (_, row) in zip(sm.input.shuffles, with_shuffles.iterrows()):
    df = read_parquet(path)[["index", "ncut"]]
    for key in keys:
        df[key] = row[key]
    frames.append(df)
shuffles = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=keys + ["index", "ncut"])
write_parquet(shuffles, sm.output.shuffles)
