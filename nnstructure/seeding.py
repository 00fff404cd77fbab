"""Deterministic seeds derived from an experiment cell's identity."""

from __future__ import annotations

import hashlib


def derive_seed(*parts: object) -> int:
    """A stable 31-bit seed from any sequence of printable parts.

    ``derive_seed("mnist", "mlp", 3)`` is the same on every machine and Python
    run (unlike ``hash``), and different parts give unrelated seeds.
    """
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF
