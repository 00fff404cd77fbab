"""The settings of a workflow step: a mapping of plain values, checked and completed the same way for every caller.

A step function (``nnstructure.<chapter>.steps``) takes its input paths, its
output paths and one settings mapping. The workflow passes a rule's params as
that mapping; the ``nnstructure`` command parses its options into the same
mapping. These helpers fill in the step's defaults, reject names the step does
not know, and give each value the type its command-line option would parse it to
(so a setting written ``1`` in a YAML config is the same ``1.0`` a command line
gives), which keeps the outputs of both callers identical.
"""

from __future__ import annotations

from typing import Any, Mapping


def step_settings(step: str, given: Mapping[str, Any] | None, defaults: Mapping[str, Any],
                  required: tuple[str, ...] = ()) -> dict[str, Any]:
    """``given`` over ``defaults`` (a ``None`` value means not given); an unknown name or a missing
    ``required`` one is a ValueError naming the step. The result is in the order ``required``, ``defaults``."""
    given = dict(given or {})
    known = (*required, *defaults)
    unknown = [name for name in given if name not in known]
    if unknown:
        raise ValueError(f"{step}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"it takes {', '.join(known)}")
    missing = [name for name in required if given.get(name) is None]
    if missing:
        raise ValueError(f"{step}: setting{'s' if len(missing) > 1 else ''} {', '.join(missing)} required")
    return {name: given[name] if given.get(name) is not None else defaults.get(name) for name in known}


def as_int(value: Any) -> int | None:
    """An integer setting as ``int(text)`` reads it from a command line (``None`` stays ``None``)."""
    return None if value is None else int(str(value))


def as_float(value: Any) -> float | None:
    """A real-valued setting as ``float(text)`` reads it from a command line (``None`` stays ``None``)."""
    return None if value is None else float(str(value))


def table_settings(step: str, given: Mapping[str, Any] | None, table: Mapping[str, dict],
                   extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """The settings of a schema table (``nnstructure.reward.settings``) over its defaults, in the table's order,
    typed as the table's command-line options parse them; unset ones without a default are left out.
    ``extra`` names settings outside the table that ``given`` may hold (returned only where given, last)."""
    given = dict(given or {})
    unknown = [name for name in given if name not in table and name not in extra]
    if unknown:
        raise ValueError(f"{step}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"it takes {', '.join([*table, *extra])}")
    out: dict[str, Any] = {}
    for name, spec in table.items():
        value = given.get(name)
        if value is None:
            value = spec.get("default")
        if value is None:
            continue
        kind = spec["type"][0] if isinstance(spec["type"], list) else spec["type"]
        if kind == "boolean":
            out[name] = bool(value)
        elif kind == "integer":
            out[name] = as_int(value)
        elif kind == "number":
            out[name] = as_float(value)
        elif kind == "array":
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise ValueError(f"{step}: setting {name} must be a list, got {value!r}")
            out[name] = [as_int(v) for v in value] if spec.get("items", {}).get("type") == "integer" else list(value)
        else:
            out[name] = str(value)
    for name in extra:
        if given.get(name) is not None:
            out[name] = given[name]
    return out


def require(step: str, settings: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """A ValueError naming the step unless every one of ``names`` is set."""
    missing = [name for name in names if settings.get(name) is None]
    if missing:
        raise ValueError(f"{step}: setting{'s' if len(missing) > 1 else ''} {', '.join(missing)} required")
