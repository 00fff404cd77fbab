import os

import pytest

# Keep the suite deterministic and light on this 2-core machine.
os.environ.setdefault("NNSTRUCTURE_DEVICE", "cpu")


@pytest.fixture(autouse=True)
def _torch_threads():
    import torch

    torch.set_num_threads(1)
    yield


def trust_test_data(monkeypatch, data_dir):
    """Accept the small stand-ins for MNIST, Fashion-MNIST and CIFAR-10 that a test wrote into ``data_dir``.

    The loaders verify every real file against the published checksums (a
    mismatch is an error); tests register their own files' checksums instead,
    so the loaders' verification runs unchanged on them.
    """
    from dataclasses import replace
    from pathlib import Path

    from nnstructure.data import sources

    for key, dataset in list(sources.REAL_DATASETS.items()):
        folder = Path(data_dir) / dataset.folder
        files = tuple(replace(f, md5=sources._file_md5(f, folder / f.name)[0]) if (folder / f.name).is_file() else f
                      for f in dataset.files)
        monkeypatch.setitem(sources.REAL_DATASETS, key, replace(dataset, files=files))
