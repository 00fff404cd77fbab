"""Datasets: real loaders (MNIST, Fashion-MNIST, CIFAR-10) and the thesis's generated sets.

``make_dataset(name, data_dir, seed)`` builds any of :data:`DATASETS`;
``save_dataset`` / ``load_dataset`` store it as an ``.npz`` artifact and
``preview_grid`` draws sample images.
"""

from nnstructure.data.dataset import Dataset, load_dataset, save_dataset
from nnstructure.data.preview import preview_grid
from nnstructure.data.registry import DATASETS, make_dataset, required_real_datasets
from nnstructure.data.sources import ensure_files

__all__ = [
    "DATASETS",
    "Dataset",
    "ensure_files",
    "load_dataset",
    "make_dataset",
    "preview_grid",
    "required_real_datasets",
    "save_dataset",
]
