"""``nnstructure dataset`` (build one dataset artifact) and ``nnstructure fetch-data`` (get real files)."""

from __future__ import annotations

import argparse
import time

from nnstructure.data.dataset import save_dataset
from nnstructure.data.preview import preview_grid
from nnstructure.data.registry import DATASETS, make_dataset, required_real_datasets
from nnstructure.data.sources import REAL_DATASETS, ensure_files


def register(subparsers) -> None:
    p = subparsers.add_parser("dataset", help="build a dataset and save it as an .npz artifact")
    p.add_argument("name", choices=DATASETS, metavar="NAME", help=f"one of: {', '.join(DATASETS)}")
    p.add_argument("--data-dir", required=True, help="folder holding mnist/, fashion-mnist/, cifar10/")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated samples, or of the subsample drawn from a real dataset (default 0)")
    p.add_argument("--n-train", type=int, default=None, help="training samples (default: the thesis size)")
    p.add_argument("--n-test", type=int, default=None, help="test samples (default: the thesis size)")
    p.add_argument("--out", required=True, help="output .npz path")
    p.add_argument("--preview", default=None, help="also write a PNG grid of samples here")
    p.set_defaults(func=_dataset)

    f = subparsers.add_parser("fetch-data", help="make sure the real files a dataset needs are in the data dir")
    f.add_argument("names", nargs="+", choices=DATASETS, metavar="NAME", help="datasets whose real files to fetch")
    f.add_argument("--data-dir", required=True, help="folder to put mnist/, fashion-mnist/, cifar10/ in")
    f.set_defaults(func=_fetch)


def build_dataset_artifact(name: str, data_dir: str, seed: int = 0, n_train: int | None = None, n_test: int | None = None,
                           out: str = "", preview: str | None = None) -> None:
    """Build dataset ``name`` (real files looked for in ``data_dir``), save it to ``out`` and its preview; print a summary."""
    start = time.perf_counter()
    ds = make_dataset(name, data_dir, seed=seed, n_train=n_train, n_test=n_test)
    save_dataset(ds, out)
    if preview:
        preview_grid(ds, preview)
    print(
        f"{ds.name}: {len(ds.y_train)} train, {len(ds.y_test)} test, input {ds.input_shape}, "
        f"{ds.task} -> {out} ({time.perf_counter() - start:.1f} s)"
    )


def _dataset(args: argparse.Namespace) -> int:
    build_dataset_artifact(args.name, args.data_dir, seed=args.seed, n_train=args.n_train, n_test=args.n_test,
                           out=args.out, preview=args.preview)
    return 0


def _fetch(args: argparse.Namespace) -> int:
    keys = sorted({key for name in args.names for key in required_real_datasets(name)})
    if not keys:
        print("nothing to fetch: these datasets are generated without real files")
    for key in keys:
        origin = ensure_files(key, args.data_dir)
        for name, where in origin.items():
            print(f"{args.data_dir}/{REAL_DATASETS[key].folder}/{name}: {where}")
    return 0
