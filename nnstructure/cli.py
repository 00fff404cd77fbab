"""The ``nnstructure`` command line: one subcommand per workflow step.

Each sub-package that offers a step has a ``cli`` module with a
``register(subparsers)`` function adding its subcommands; a subcommand sets
``func`` to a callable taking the parsed arguments and returning an exit code.
:data:`COMMANDS` names the module of every subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Every subcommand and the sub-package CLI module that registers it, in help order. Running one subcommand
#: imports only its module: importing every CLI module imports most of the package (torch, pandas,
#: matplotlib, scipy.stats: seconds per process), which a workflow job running one step does not need.
#: A test checks this table against what the modules register.
COMMANDS: dict[str, str] = {
    "dataset": "nnstructure.data.cli",
    "fetch-data": "nnstructure.data.cli",
    "train": "nnstructure.train.cli",
    "evaluate": "nnstructure.train.cli",
    "clusterability": "nnstructure.cluster.cli",
    "graph": "nnstructure.cluster.cli",
    "cluster": "nnstructure.cluster.cli",
    "shuffles": "nnstructure.cluster.cli",
    "partition": "nnstructure.specialization.cli",
    "subcluster-proxy": "nnstructure.specialization.cli",
    "specialization-stats": "nnstructure.specialization.cli",
    "specialization": "nnstructure.specialization.cli",
    "import-imagenet": "nnstructure.imagenet.cli",
    "transitions": "nnstructure.reward.cli",
    "transitions-merge": "nnstructure.reward.cli",
    "transitions-import": "nnstructure.reward.cli",
    "edit-transitions": "nnstructure.reward.cli",
    "reward-net": "nnstructure.reward.nets_cli",
    "noise-test": "nnstructure.reward.nets_cli",
    "predict-transitions": "nnstructure.reward.nets_cli",
    "visualize-reward": "nnstructure.reward.nets_cli",
    "probe": "nnstructure.probe.cli",
    "probe-features": "nnstructure.probe.cli",
    "probe-fit": "nnstructure.probe.cli",
    "dots-net": "nnstructure.probe.cli",
    "adversarial-train": "nnstructure.probe.cli",
    "report-tables": "nnstructure.report.cli",
    "report-chapter": "nnstructure.report.cli",
}
#: The CLI modules, in help order.
COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMANDS.values()))


class DefaultsShownFormatter(argparse.HelpFormatter):
    """Help that shows every option's default: ``(default: X)`` after a help text that does not already name it
    (no default, a flag's False, a required option or a hidden one show nothing)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (not action.option_strings or action.required or default is None or default is argparse.SUPPRESS
                or isinstance(default, bool) or "default" in text or "%(default)" in text):
            return text
        if isinstance(default, (list, tuple)):
            default = ",".join(str(v) for v in default)
        return f"{text} (default: {str(default).replace('%', '%%')})"


class _DeprecatedAlias(argparse.Action):
    """An old spelling of an option: stores into the new option's ``dest`` and says (on stderr) what to write now."""

    def __init__(self, option_strings, dest, new: str = "", **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"nnstructure {parser.prog.split()[-1]}: {option_string} is deprecated; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_deprecated_alias(parser: argparse.ArgumentParser, old: str, new: str, **kwargs) -> None:
    """Accept ``old`` (hidden from the help) as a deprecated spelling of the option ``new`` (already added):
    the same destination, type and choices; using it prints a deprecation note so old scripts keep working."""
    target = next(a for a in parser._actions if new in a.option_strings)
    kwargs.setdefault("type", target.type)
    kwargs.setdefault("choices", target.choices)
    parser.add_argument(old, dest=target.dest, action=_DeprecatedAlias, new=new, default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS, metavar=target.metavar, **kwargs)


def command_module(command: str) -> str | None:
    """The CLI module registering ``command`` (``None`` for an unknown command: then the full parser is built)."""
    return COMMANDS.get(command)


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
    for name in [only] if only else COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # that part of the package is not installed in this build
            raise
        module.register(sub)
    for command_parser in sub.choices.values():
        command_parser.formatter_class = DefaultsShownFormatter
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


if __name__ == "__main__":
    sys.exit(main())
