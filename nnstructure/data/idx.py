"""The IDX file format of MNIST and Fashion-MNIST: parse, check, write.

An IDX file is a big-endian header (magic number, then one 32-bit size per
dimension) followed by the raw ``uint8`` values. Image files have magic 2051
and three dimensions (count, rows, columns); label files have magic 2049 and
one dimension. Files may be gzip-compressed (``.gz``) or raw.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np

from nnstructure.io import atomic_path

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


class IdxError(ValueError):
    """An IDX file is truncated, has the wrong magic number or wrong dimensions."""


def read_idx_bytes(path: str | os.PathLike) -> bytes:
    """The uncompressed content of ``path`` (gunzipped when it starts with the gzip magic)."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IdxError(f"{path} is a damaged gzip file ({exc}); delete it and download it again") from exc
    return raw


def parse_idx(content: bytes, expected_magic: int, source: str = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX ``content`` into a ``uint8`` array, checking magic and length."""
    fix = f"delete {source} and download it again"
    if len(content) < 8:
        raise IdxError(f"{source} is truncated: {len(content)} bytes is shorter than an IDX header; {fix}")
    magic = struct.unpack(">I", content[:4])[0]
    if magic != expected_magic:
        kind = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}.get(expected_magic, str(expected_magic))
        raise IdxError(
            f"{source} has magic number {magic}, not {expected_magic} ({kind} IDX file): it is the wrong file "
            f"or corrupt; {fix}"
        )
    ndim = 3 if expected_magic == IMAGES_MAGIC else 1
    header_len = 4 + 4 * ndim
    if len(content) < header_len:
        raise IdxError(f"{source} is truncated inside its header; {fix}")
    dims = struct.unpack(f">{ndim}I", content[4:header_len])
    n_values = int(np.prod(dims))
    if len(content) != header_len + n_values:
        raise IdxError(
            f"{source} declares shape {dims} ({n_values} values) but holds {len(content) - header_len} bytes "
            f"of data: it is truncated or padded; {fix}"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_len).reshape(dims).copy()


def read_idx(path: str | os.PathLike, expected_magic: int) -> np.ndarray:
    """Read an IDX file (gzip or raw) into a ``uint8`` array; errors name the file."""
    return parse_idx(read_idx_bytes(path), expected_magic, source=str(path))


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a ``uint8`` array of 3 dimensions (images) or 1 (labels) as IDX."""
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(f"IDX needs a uint8 array of 1 or 3 dimensions, got {array.dtype} {array.shape}")
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


def write_idx_gz(content: bytes, path: str | os.PathLike) -> None:
    """Write uncompressed IDX ``content`` gzip-compressed to ``path``, atomically."""
    with atomic_path(path) as tmp:
        # mtime=0 and an empty name (not the temporary file's) make the compressed bytes reproducible.
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(content)


def md5(content: bytes) -> str:
    return hashlib.md5(content).hexdigest()
