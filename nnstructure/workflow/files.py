"""File contents as checksums: a params value that changes when a file's content does, not its location."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_CHECKSUMS: dict[tuple[str, int, int], str] = {}


def file_checksum(path: str | os.PathLike) -> str:
    """SHA-256 of a file (cached per path, size and modification time within the process)."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _CHECKSUMS:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
        _CHECKSUMS[key] = digest.hexdigest()
    return _CHECKSUMS[key]

