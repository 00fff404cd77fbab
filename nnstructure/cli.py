"""The ``nnstructure`` command line: one subcommand per workflow step.

Each sub-package that offers a step has a ``cli`` module with a
``register(subparsers)`` function adding its subcommands; a subcommand sets
``func`` to a callable taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnstructure",
        description="Clusterability, importance/coherence and reward-model analyses of neural networks.",
    )
    from nnstructure import __version__

    parser.add_argument("--version", action="version", version=f"nnstructure {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # that part of the package is not installed in this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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


if __name__ == "__main__":
    sys.exit(main())
