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
