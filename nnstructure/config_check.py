"""Short, actionable config validation errors (the Snakefile calls this first).

Snakemake's own ``validate`` fills the defaults from ``config/schema.yaml`` but
its error dumps the schema; this check reports the offending key path, the bad
value and what is allowed, in one line per problem.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


class ConfigError(ValueError):
    """The workflow config does not match config/schema.yaml."""


@functools.lru_cache(maxsize=8)
def _parsed_schema(path: str, mtime_ns: int, size: int) -> dict:
    # libyaml's parser where PyYAML has it: the 74 kB schema took 0.25 s in pure Python, once per reader
    return yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_schema(schema_path: str | Path) -> dict:
    """The parsed JSON schema at ``schema_path``, read once per process while the file is unchanged.

    The Snakefile checks, fills and normalises the config against the same schema
    (three readers); each Snakemake invocation, dry runs included, used to parse it
    each time. The returned dict is shared: read it, never change it.
    """
    path = Path(schema_path).resolve()
    stat = path.stat()
    return _parsed_schema(str(path), stat.st_mtime_ns, stat.st_size)


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


#: Network-set kinds that read a transition dataset (their ``transitions:`` names one).
_TRANSITION_KINDS = ("reward", "adversarial")
#: Sections whose ``networks:`` entries name network sets.
_ANALYSES = ("clusterability", "specialization", "reward", "probes", "partition_methods")  # nnstructure.workflow.ANALYSES


def reference_problems(config: dict) -> list[str]:
    """Names that must refer to another section and do not: a network set's ``transitions:``, an analysis
    entry's network set (``set:``, or the entry's own name). One line per problem, naming the key."""
    problems = []
    networks = config.get("networks") or {}
    transitions = config.get("transitions") or {}
    for name, net in networks.items():
        if (net or {}).get("kind") in _TRANSITION_KINDS and net.get("transitions") not in transitions:
            known = ", ".join(transitions) or "none defined"
            problems.append(f"config key 'networks.{name}.transitions': {net.get('transitions')!r} is not a transition "
                            f"dataset of the 'transitions' section (defined: {known})")
    for analysis in _ANALYSES:
        for entry, settings in ((config.get(analysis) or {}).get("networks") or {}).items():
            target = (settings or {}).get("set", entry)
            if target not in networks:
                key = f"{analysis}.networks.{entry}" + (".set" if "set" in (settings or {}) else "")
                problems.append(f"config key '{key}': {target!r} is not a network set of the 'networks' section "
                                f"(defined: {', '.join(networks) or 'none'}); name one, or add 'set: <network set>'")
    return problems


def results_dir_problem(config: dict) -> str | None:
    """Why ``results_dir`` cannot hold results (it cannot be created, or is not writable), or ``None``."""
    import os

    folder = Path(str(config.get("results_dir", "results")))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"config key 'results_dir': {str(folder)!r} cannot be created ({exc.strerror or exc}); choose a folder you can write"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"config key 'results_dir': {str(folder)!r} is not writable; choose a folder you can write"
    return None


def check_config(config: dict, schema_path: str | Path) -> None:
    """Raise :class:`ConfigError` listing every problem in ``config``: schema violations, then names that refer
    to no other section, then a ``results_dir`` that cannot be written; before any job or DAG is built."""
    root = load_schema(schema_path)
    validator = Draft202012Validator(root)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    lines = [_describe(e, root) for e in errors]
    if not lines:  # references and the folder make sense only in a config of the right shape
        lines = reference_problems(config)
        folder = results_dir_problem(config)
        lines += [folder] if folder else []
    if lines:
        raise ConfigError("invalid workflow config:\n  - " + "\n  - ".join(lines))


def fill_defaults(config: dict, schema_path: str | Path) -> dict:
    """Fill the schema's defaults into ``config`` in place (as Snakemake's ``validate`` does) and return it.

    Snakemake's ``validate`` skips itself inside cluster jobs (``workflow.remote_exec``),
    so a job re-reading the config would miss every default; the Snakefile calls
    this unconditionally so that the main process and every job see the same config.
    """
    from jsonschema import validators

    root = load_schema(schema_path)
    base = Draft202012Validator

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))  # never the shared schema's object
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    filling = validators.extend(base, {"properties": set_defaults})
    for _ in filling(root).iter_errors(config):
        pass  # check_config reports errors; here only the defaults matter
    return config
