"""Where a step runs: ``NNSTRUCTURE_DEVICE`` (read in nnstructure.device only) and torch's thread count."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from nnstructure.cluster.relative import _resolve_device
from nnstructure.device import device_preference, select_device, torch_threads


def test_the_environment_gives_the_device_only_when_none_is_passed(monkeypatch):
    monkeypatch.setenv("NNSTRUCTURE_DEVICE", "CPU")
    assert device_preference() == "cpu" and device_preference("cuda:1") == "cuda:1"
    assert select_device() == torch.device("cpu")
    assert _resolve_device(None) is None  # the shuffles stay on the CPU path (no torch needed)
    monkeypatch.delenv("NNSTRUCTURE_DEVICE")
    assert device_preference() == "auto" == device_preference("")
    if not torch.cuda.is_available():
        assert select_device() == torch.device("cpu") and _resolve_device(None) is None
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            select_device("cuda")


def test_torch_threads_restores_the_previous_count_even_after_an_error():
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with pytest.raises(KeyError), torch_threads(before + 1):
        raise KeyError
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def _record_threads(monkeypatch):
    """Replace the training loop by one that records torch's thread count while it runs."""
    seen = []

    def train_network(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return {"phase": "unpruned"}

    monkeypatch.setattr("nnstructure.train.loop.train_network", train_network)
    return seen


def test_training_sets_its_threads_while_it_runs_only(monkeypatch, tmp_path):
    from nnstructure.train.loop import train_from_settings

    seen = _record_threads(monkeypatch)
    before = torch.get_num_threads()
    data = SimpleNamespace(input_shape=[4], n_outputs=2)
    train_from_settings(data, "mlp", {"epochs": 1}, 0, tmp_path / "m.pt", threads=before + 2, progress=False)
    assert seen == [before + 2] and torch.get_num_threads() == before


def test_reward_net_training_sets_its_threads_while_it_runs_only(monkeypatch, tmp_path):
    from nnstructure.reward.nets import train_reward_net
    from test_reward_transitions_data import write_transition_dataset

    dataset = write_transition_dataset(tmp_path / "ds", n_shards=1, episodes_per_shard=2, steps=3, size=8)
    seen = _record_threads(monkeypatch)
    before = torch.get_num_threads()
    train_reward_net(dataset, {"epochs": 1}, 0, tmp_path / "r.pt", threads=before + 2, progress=False)
    assert seen == [before + 2] and torch.get_num_threads() == before


def test_freed_heap_goes_back_to_the_system():
    """After glibc has raised its mmap threshold, freed blocks stay in the heap until ``release_freed_heap``."""
    code = ("import numpy as np\n"
            "from nnstructure.device import release_freed_heap\n"
            "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * 4096 >> 20\n"
            "big = np.ones(8 << 20, dtype=np.uint8); del big\n"  # a freed 8 MiB block raises the threshold
            "blocks = [np.ones(4 << 20, dtype=np.uint8) for _ in range(64)]\n"  # 256 MiB from the heap
            "keep = blocks[-1]; del blocks\n"
            "before = rss(); ran = release_freed_heap()\n"
            "print(ran, before, rss())")
    ran, before, after = _in_fresh_python(code).split()
    import platform

    if platform.libc_ver()[0] == "glibc":
        assert ran == "True" and int(before) - int(after) > 200  # MiB
    else:
        assert ran == "False"


def test_the_transition_reader_releases_the_heap_after_each_shard(tmp_path, monkeypatch):
    from nnstructure.reward import transitions
    from nnstructure.reward.transitions import TransitionDataset
    from test_reward_transitions_data import write_transition_dataset

    dataset = TransitionDataset(write_transition_dataset(tmp_path / "ds"))
    calls = []
    monkeypatch.setattr(transitions, "release_freed_heap", lambda: calls.append(1))
    n = sum(len(b["action"]) for b in dataset.batches(None, 7, shuffle=False))
    assert n == dataset.n() and len(calls) == len(np.unique(dataset.column("shard")))


def _in_fresh_python(code: str, **env) -> str:
    import os
    import subprocess
    import sys

    environ = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"} | env
    return subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True).stdout.strip()


def test_importing_the_package_gives_torch_huge_pages_unless_the_environment_says_otherwise():
    """A 64 MiB activation lands in transparent huge pages (where the kernel offers them); a set
    ``$THP_MEM_ALLOC_ENABLE`` wins."""
    from pathlib import Path

    probe = ("import os, nnstructure, torch; x = torch.ones(2 ** 24); "
             "huge = [int(l.split()[1]) for l in open('/proc/self/smaps_rollup') if l.startswith('AnonHugePages')][0]; "
             "print(os.environ['THP_MEM_ALLOC_ENABLE'], huge)")
    on, huge = _in_fresh_python(probe).split()
    off, huge_off = _in_fresh_python(probe, THP_MEM_ALLOC_ENABLE="0").split()
    assert (on, off) == ("1", "0")
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if thp.exists() and "[madvise]" in thp.read_text():  # huge pages only where asked for (this machine)
        assert int(huge) >= 32 * 1024 and int(huge_off) == 0  # kB: at least half of the tensor, against none
