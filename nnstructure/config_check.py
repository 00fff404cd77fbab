"""Short, actionable config validation errors (the Snakefile calls this first).

Snakemake's own ``validate`` fills the defaults from ``config/schema.yaml`` but
its error dumps the schema; this check reports the offending key path, the bad
value and what is allowed, in one line per problem.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


class ConfigError(ValueError):
    """The workflow config does not match config/schema.yaml."""


def _key(error: ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(top level)"


def _allowed(schema: dict, root: dict) -> str:
    if "$ref" in schema:
        ref = schema["$ref"].split("/")[-1]
        schema = root["$defs"][ref]
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    bits = []
    if "type" in schema:
        bits.append(f"type {schema['type']}")
    for bound, word in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if bound in schema:
            bits.append(f"{word} {schema[bound]}")
    if "pattern" in schema:
        bits.append(f"matching {schema['pattern']}")
    if "oneOf" in schema:
        return " or ".join(_allowed(s, root) for s in schema["oneOf"])
    if schema.get("type") == "array" and "items" in schema:
        bits.append("items: " + _allowed(schema["items"], root))
    return ", ".join(bits) or "see config/schema.yaml"


def _describe(error: ValidationError, root: dict) -> str:
    key = _key(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        where = "at the top level" if key == "(top level)" else f"under '{key}'"
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown config key(s) {', '.join(map(repr, extra))} {where}{hint}"
    if error.validator == "required":
        return f"config key '{key}' is missing a required entry: {error.message}"
    if error.validator == "propertyNames":
        return f"config key '{key}': name {error.instance!r} is not allowed ({_allowed(error.schema.get('propertyNames', {}), root)})"
    return f"config key '{key}': {error.instance!r} is not allowed; expected {_allowed(error.schema, root)}"


def check_config(config: dict, schema_path: str | Path) -> None:
    """Raise :class:`ConfigError` listing every problem in ``config``."""
    root = yaml.safe_load(Path(schema_path).read_text())
    validator = Draft202012Validator(root)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [_describe(e, root) for e in errors]
        raise ConfigError("invalid workflow config:\n  - " + "\n  - ".join(lines))


def fill_defaults(config: dict, schema_path: str | Path) -> dict:
    """Fill the schema's defaults into ``config`` in place (as Snakemake's ``validate`` does) and return it.

    Snakemake's ``validate`` skips itself inside cluster jobs (``workflow.remote_exec``),
    so a job re-reading the config would miss every default; the Snakefile calls
    this unconditionally so that the main process and every job see the same config.
    """
    from jsonschema import validators

    root = yaml.safe_load(Path(schema_path).read_text())
    base = Draft202012Validator

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, yaml.safe_load(yaml.safe_dump(sub["default"])))
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    filling = validators.extend(base, {"properties": set_defaults})
    for _ in filling(root).iter_errors(config):
        pass  # check_config reports errors; here only the defaults matter
    return config
