import os

import pytest

# Keep the suite deterministic and light on this 2-core machine.
os.environ.setdefault("NNSTRUCTURE_DEVICE", "cpu")


@pytest.fixture(autouse=True)
def _torch_threads():
    import torch

    torch.set_num_threads(1)
    yield
