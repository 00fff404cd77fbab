import pytest
import torch

from nnstructure.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from nnstructure.io import ArtifactError
from nnstructure.models import build_model, model_spec


def _model():
    spec = model_spec("mlp", [6], 3, widths=[5, 4])
    return spec, build_model(spec, seed=1)


def test_round_trip_rebuilds_the_same_function(tmp_path):
    spec, model = _model()
    masks = {"1.weight": model[1].weight.abs() > 0.2}
    meta = {"spec": spec, "seed": 1, "phase": "pruned", "metrics": [{"epoch": 1, "loss": 0.5}], "v": torch.__version__}
    save_checkpoint(tmp_path / "m.pt", model, meta, masks=masks)
    ck = load_checkpoint(tmp_path / "m.pt")
    x = torch.randn(7, 6)
    assert torch.equal(ck.model(x), model.eval()(x))
    assert not ck.model.training
    assert ck.metadata["metrics"] == [{"epoch": 1, "loss": 0.5}] and ck.metadata["v"] == str(torch.__version__)
    assert torch.equal(ck.masks["1.weight"], masks["1.weight"])
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write left no temporary file
    assert read_metadata(tmp_path / "m.pt") == ck.metadata


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign"])
def test_corrupt_or_foreign_files_raise_artifact_error_naming_the_file(tmp_path, damage):
    spec, model = _model()
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, {"spec": spec})
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    else:
        torch.save({"weights": torch.zeros(3)}, path)
    for reader in (load_checkpoint, read_metadata):
        with pytest.raises(ArtifactError, match="delete it and rerun training") as err:
            reader(path)
        assert str(path) in str(err.value)


def test_missing_file_and_missing_spec(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    _, model = _model()
    with pytest.raises(ValueError, match="spec"):
        save_checkpoint(tmp_path / "m.pt", model, {"seed": 0})


def test_checkpoint_bytes_do_not_depend_on_the_file_name(tmp_path):
    spec, model = _model()
    for name in ("a.pt", "some-other-name.pt"):
        save_checkpoint(tmp_path / name, model, {"spec": spec, "seed": 1})
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "some-other-name.pt").read_bytes()


def test_identical_training_runs_give_identical_checkpoint_bytes(tmp_path):
    import numpy as np

    from nnstructure.data.dataset import Dataset
    from nnstructure.io import read_parquet
    from nnstructure.train import TrainConfig, train_network

    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    ds = Dataset("toy", x[:64], y[:64], x[64:], y[64:], n_classes=2)
    spec = model_spec("mlp", [6], 2, widths=[8])
    cfg = TrainConfig(epochs=1, prune_epochs=1, batch_size=16, prune_frequency=1)
    for run in ("run1", "run2"):
        train_network(ds, spec, cfg, 3, tmp_path / run / "final.pt", unpruned_out=tmp_path / run / "unpruned.pt",
                      log=tmp_path / run / "metrics.parquet", progress=False)
    for name in ("final.pt", "unpruned.pt"):
        assert (tmp_path / "run1" / name).read_bytes() == (tmp_path / "run2" / name).read_bytes(), name
    # The timings are in the metrics table, not in the checkpoint.
    assert "seconds" in read_parquet(tmp_path / "run1" / "metrics.parquet").columns
    assert all("seconds" not in row for row in read_metadata(tmp_path / "run1" / "final.pt")["metrics"])
