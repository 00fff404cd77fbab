"""Start-up cost: one subcommand imports only its own CLI module, and training settings do not import torch."""

import subprocess
import sys

import pytest

from nnstructure import cli


def registered_by_each_module():
    """{command: module} from registering every CLI module into its own parser (imports them all)."""
    import argparse
    import importlib

    owner = {}
    for name in cli.COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(sub)
        for command in sub.choices:
            owner[command] = name
    return owner


def test_the_command_table_is_what_the_modules_register_in_help_order():
    owner = registered_by_each_module()
    assert list(owner.items()) == list(cli.COMMANDS.items())
    assert cli.command_module("graph") == "nnstructure.cluster.cli"
    assert cli.command_module("no-such-command") is None
    # The one-module parser gives the same handler as the full parser.
    argv = ["cluster", "g.npz", "--k", "3", "--out", "x.parquet"]
    assert cli.build_parser("cluster").parse_args(argv).func is cli.build_parser().parse_args(argv).func


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()
              if line.startswith("    ") and not line.startswith("     ")]
    assert listed == list(cli.COMMANDS)


def imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_reading_training_settings_does_not_import_torch():
    # What the Snakefile imports at every Snakemake start (also twice per SLURM job).
    assert "torch" not in imported_after("import nnstructure.workflow, nnstructure.train.config")
    assert "torch" not in imported_after("from nnstructure.cli import build_parser; build_parser('train')")
    from nnstructure.train import TrainConfig, evaluate, train_from_settings, train_network  # still public

    assert {f.__module__ for f in (evaluate, train_from_settings, train_network)} == {"nnstructure.train.loop"}
    assert TrainConfig.__module__ == "nnstructure.train.config"


def test_one_command_imports_only_its_own_cli_module():
    for command, module in (("graph", "nnstructure.cluster.cli"), ("report-tables", "nnstructure.report.cli")):
        loaded = imported_after(f"from nnstructure.cli import build_parser; build_parser({command!r})")
        assert loaded & set(cli.COMMAND_MODULES) == {module}, command
