"""Operations: file modes under the umask, training resume messages, config checks, evaluate finding its data."""

import contextlib
import gzip
import json
import os
import stat

import numpy as np
import pytest

from nnstructure.io import atomic_path, current_umask, write_json


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_artifacts_get_the_mode_a_new_file_gets_under_the_umask(tmp_path, mask):
    with umask(mask):
        assert current_umask() == mask
        write_json({"a": 1}, tmp_path / "a.json")
        with open(tmp_path / "plain", "w"):
            pass
    assert mode(tmp_path / "a.json") == 0o666 & ~mask == mode(tmp_path / "plain")


def test_failed_atomic_write_still_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), umask(0o022), atomic_path(tmp_path / "x.bin") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []


def test_fetched_dataset_files_are_group_readable(tmp_path, monkeypatch):
    from nnstructure.data import sources
    from nnstructure.data.idx import idx_bytes, md5

    content = idx_bytes(np.arange(4, dtype=np.uint8))
    files = (sources.RealFile("train-labels-idx1-ubyte.gz", md5(content), "https://example.invalid/l.gz"),)
    monkeypatch.setitem(sources.REAL_DATASETS, "mnist", sources.RealDataset("mnist", "mnist", files))

    class Provider:
        name = "test source"

        def provide(self, dataset, wanted, workdir):
            path = workdir / "l.gz"
            path.write_bytes(gzip.compress(content))
            return {"train-labels-idx1-ubyte.gz": path}

    with umask(0o027):
        sources.ensure_files("mnist", tmp_path, sources=[Provider()])
    assert mode(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz") == 0o640


# --- training: resume message, config checks -------------------------------------------------


def toy_dataset(name="toy"):
    from nnstructure.data.dataset import Dataset

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    return Dataset(name, x[:64], y[:64], x[64:], y[64:], n_classes=2)


class Killed(Exception):
    pass


def test_a_resumed_run_says_so_on_stderr(tmp_path, capsys):
    from nnstructure.models import model_spec
    from nnstructure.train import TrainConfig, train_network

    ds, cfg = toy_dataset(), TrainConfig(epochs=2, prune_epochs=1, batch_size=16, prune_frequency=1)
    spec = model_spec("mlp", [6], 2, widths=[8])

    def kill(epoch, row):
        raise Killed

    with pytest.raises(Killed):
        train_network(ds, spec, cfg, 0, tmp_path / "m.pt", progress=False, epoch_callback=kill)
    assert "resuming" not in capsys.readouterr().err
    train_network(ds, spec, cfg, 0, tmp_path / "m.pt", progress=False)
    assert capsys.readouterr().err.splitlines() == [f"resuming from {tmp_path / 'm.pt.partial'} at epoch 1 of 3"]


def test_train_help_explains_resume(capsys):
    from nnstructure.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "OUT.partial" in text and "resuming from OUT.partial at epoch k of n" in text


def test_initial_sparsity_above_final_is_refused():
    from nnstructure.train import TrainConfig

    with pytest.raises(ValueError, match=r"initial_sparsity 0\.95 is above final_sparsity 0\.9.*set initial_sparsity <= final_sparsity"):
        TrainConfig(initial_sparsity=0.95, final_sparsity=0.9)
    assert TrainConfig(initial_sparsity=0.9, final_sparsity=0.9).final_sparsity == 0.9


# --- evaluate finds the dataset a workflow network was trained on ----------------------------


@pytest.fixture(scope="module")
def workflow_network(tmp_path_factory):
    """A checkpoint in the workflow's layout: results/<preset>/networks/... beside results/<preset>/datasets/."""
    from nnstructure.data.dataset import save_dataset
    from nnstructure.models import model_spec
    from nnstructure.train import TrainConfig, train_network

    root = tmp_path_factory.mktemp("wf") / "results" / "p"
    ds = toy_dataset("lines")
    save_dataset(ds, root / "datasets" / "lines.npz")
    out = root / "networks" / "e" / "none" / "seed0" / "final.pt"
    train_network(ds, model_spec("mlp", [6], 2, widths=[8]), TrainConfig(epochs=1, prune_epochs=0, batch_size=16), 0, out,
                  progress=False)
    return out


def test_evaluate_finds_the_workflow_dataset_without_data_dir(workflow_network, capsys):
    from nnstructure.checkpoint import read_metadata
    from nnstructure.cli import main

    assert main(["evaluate", str(workflow_network), "--json", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    meta = read_metadata(workflow_network)
    assert result["dataset"] == "lines" and result["test_accuracy"] == pytest.approx(meta["test_accuracy"])


def test_evaluate_says_which_option_is_missing_when_the_data_is_not_found(workflow_network, tmp_path, capsys):
    import shutil

    from nnstructure.cli import main

    alone = tmp_path / "final.pt"
    shutil.copy(workflow_network, alone)
    assert main(["evaluate", str(alone)]) == 1
    err = capsys.readouterr().err
    assert "trained on dataset 'lines'" in err and "--data-dir" in err and "--dataset" in err
