"""The ``nnstructure`` command line: one subcommand per workflow step.

Each sub-package that offers a step has a ``cli`` module with a
``register(subparsers)`` function adding its subcommands; a subcommand sets
``func`` to a callable taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path

# Sub-package CLI modules, in help order.
_COMMAND_MODULES = [
    "nnstructure.data.cli",
    "nnstructure.train.cli",
    "nnstructure.cluster.cli",
    "nnstructure.specialization.cli",
    "nnstructure.imagenet.cli",
    "nnstructure.reward.cli",
    "nnstructure.reward.nets_cli",
    "nnstructure.probe.cli",
    "nnstructure.report.cli",
]


# `subparsers.add_parser("name"` in a CLI module's source: which module registers a command.
_PARSER_NAME = re.compile(r"""add_parser\(\s*["']([\w-]+)["']""")


def command_module(command: str) -> str | None:
    """The one CLI module registering ``command``, found in the modules' sources without importing them.

    Importing every CLI module imports most of the package (torch, pandas,
    matplotlib, scipy.stats: seconds per process); a workflow job or a user
    running one subcommand needs only its module. ``None`` if no module or
    several mention the name (then the full parser is built).
    """
    package = Path(__file__).resolve().parent
    found = []
    for name in _COMMAND_MODULES:
        try:
            source = package.joinpath(*name.split(".")[1:]).with_suffix(".py").read_text()
        except OSError:
            continue
        if command in _PARSER_NAME.findall(source):
            found.append(name)
    return found[0] if len(found) == 1 else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or only of ``command``'s module when that is known."""
    parser = argparse.ArgumentParser(
        prog="nnstructure",
        description="Clusterability, importance/coherence and reward-model analyses of neural networks.",
    )
    from nnstructure import __version__

    parser.add_argument("--version", action="version", version=f"nnstructure {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    only = command_module(command) if command else None
    for name in [only] if only else _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # that part of the package is not installed in this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and not argv[0].startswith("-") else None
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        # Library errors are written to name the problem and the fix; show them plainly.
        print(f"nnstructure {args.command}: error: {exc}", file=sys.stderr)
        return 1


def run_logged(argv: list[str], log: str) -> None:
    """:func:`main` with its output in the job's ``log``, as a workflow job runs a command; a failure
    ends the job (SystemExit) pointing at the log."""
    from nnstructure.logs import log_to

    with log_to(log):
        code = main(argv)
    if code:
        raise SystemExit(f"nnstructure {argv[0]} failed (exit {code}); see {log}")


if __name__ == "__main__":
    sys.exit(main())
