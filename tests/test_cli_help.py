"""One vocabulary in the command line: every argument has help (plain text, no reST), defaults are shown, and the
renamed options keep their old spellings as hidden deprecated aliases."""

from __future__ import annotations

import argparse
import re

import pytest

from nnstructure.cli import build_parser, main

#: reST roles and inline literals: Sphinx markup that argparse prints as it is.
REST_MARKUP = re.compile(r"``|:(func|mod|data|class|meth|attr|ref):`")


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _arguments(command_parser: argparse.ArgumentParser):
    for action in command_parser._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue  # -h, and the hidden deprecated aliases
        yield (action.option_strings[0] if action.option_strings else action.dest), action


def test_every_argument_of_every_command_has_plain_help():
    commands = _commands()
    assert len(commands) >= 28
    missing, markup = [], []
    for name, command_parser in commands.items():
        for argument, action in _arguments(command_parser):
            if not (action.help or "").strip():
                missing.append(f"{name} {argument}")
            elif REST_MARKUP.search(action.help):
                markup.append(f"{name} {argument}: {action.help}")
        text = command_parser.format_help()  # description and every help line as the user sees them
        if REST_MARKUP.search(text):
            markup.append(f"{name} --help: {REST_MARKUP.search(text).group(0)}")
    assert not missing, f"arguments without help: {missing}"
    assert not markup, f"reST markup in the help: {markup}"
    subcommand_help = build_parser().format_help()
    assert not REST_MARKUP.search(subcommand_help)


def test_report_tables_help_is_plain_text():
    text = _commands()["report-tables"].format_help()
    assert "Chapter 3: thesis-style clusterability tables" in text
    assert "``" not in text and ":func:" not in text


def test_option_defaults_are_shown(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one line per option: no wrapping inside the texts
    text = " ".join(_commands()["specialization"].format_help().split())
    assert "(default weight-network)" in text  # --partitioning
    text = " ".join(_commands()["probe"].format_help().split())
    assert "--seed SEED seeds the Adam probe's initialisation and order (and a random split) (default: 0)" in text
    assert "--probe-batch-size PROBE_BATCH_SIZE Adam probe minibatch size (default 128, the thesis)" in text
    # every option with a default value names it (flags, required and default-less options excepted)
    for name, command_parser in _commands().items():
        formatter = command_parser._get_formatter()
        for argument, action in _arguments(command_parser):
            if (action.option_strings and not action.required and action.default not in (None, argparse.SUPPRESS)
                    and not isinstance(action.default, bool)):
                assert "default" in formatter._get_help_string(action), (name, argument)


def test_reward_net_settings_options_show_their_descriptions():
    text = " ".join(_commands()["reward-net"].format_help().split())
    assert "--epochs EPOCHS training epochs" in text
    assert "--lr LR Adam learning rate" in text
    assert "--seed SEED initialisation, batch order and zero-reward discard" in text


@pytest.mark.parametrize("command", ["partition", "specialization", "noise-test", "probe", "subcluster-proxy",
                                     "predict-transitions", "visualize-reward", "probe-features"])
def test_positional_checkpoints_have_help(command):
    action = dict(_arguments(_commands()[command]))["checkpoint"]
    assert action.help and action.help.strip()


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser(argv[0]).parse_args(argv)


@pytest.mark.parametrize("command", ["clusterability", "shuffles"])
def test_shuffle_options_have_one_spelling_and_jobs_are_processes(command, capsys):
    target = "model.pt" if command == "clusterability" else "graph.npz"
    new = _parse([command, target, "--n-shuffles", "7", "--kind", "nonzero", "--jobs", "3"] + (
        ["--out", "x"] if command == "shuffles" else []))
    assert (new.n_shuffles, new.kind, new.jobs) == (7, "nonzero", 3)
    assert capsys.readouterr().err == ""
    defaults = _parse([command, target] + (["--out", "x"] if command == "shuffles" else []))
    assert (defaults.n_shuffles, defaults.kind, defaults.jobs) == (50, "layer", 1)
    text = _commands()[command].format_help()
    assert "--n-shuffles" in text and "--kind" in text and "--jobs" in text
    assert "--threads" not in text and "--shuffles " not in text and "--shuffle " not in text  # hidden aliases


def test_old_spellings_still_work_and_say_they_are_deprecated(capsys):
    old = _parse(["clusterability", "model.pt", "--shuffles", "5", "--shuffle", "nonzero", "--threads", "2"])
    assert (old.n_shuffles, old.kind, old.jobs) == (5, "nonzero", 2)
    err = capsys.readouterr().err
    assert "--shuffles is deprecated; use --n-shuffles" in err
    assert "--shuffle is deprecated; use --kind" in err
    assert "--threads is deprecated; use --jobs" in err
    old = _parse(["shuffles", "graph.npz", "--threads", "4", "--out", "x"])
    assert old.jobs == 4 and "--threads is deprecated; use --jobs" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the aliases keep the checks of the option they stand for
        _parse(["clusterability", "model.pt", "--shuffle", "everything"])
    with pytest.raises(SystemExit):
        _parse(["clusterability", "model.pt", "--shuffles", "many"])


def test_train_threads_are_still_torch_threads():
    # --threads keeps its meaning where it is torch threads (train, reward-net); only the process count was renamed.
    for command in ("train", "reward-net"):
        action = dict(_arguments(_commands()[command]))["--threads"]
        assert "thread" in action.help.lower() and "process" not in action.help.lower()


def test_transitions_import_distribution_mode_takes_easy_or_hard(tmp_path, capsys):
    args = _parse(["transitions-import", "x.npz", "--out", "d", "--game", "coinrun", "--distribution-mode", "easy"])
    assert args.distribution_mode == "easy"
    assert _parse(["transitions-import", "x.npz", "--out", "d", "--game", "coinrun"]).distribution_mode is None
    with pytest.raises(SystemExit):
        _parse(["transitions-import", "x.npz", "--out", "d", "--game", "coinrun", "--distribution-mode", "Hard-ish"])
    assert "invalid choice" in capsys.readouterr().err


def test_clusterability_with_the_old_spelling_reaches_the_command(tmp_path, capsys):
    # An old script's command line still parses to the command (tests/test_network_io.py runs one end to end).
    args = _parse(["clusterability", str(tmp_path / "m.pt"), "--shuffles", "2", "--shuffle", "layer", "--threads", "1"])
    assert args.func.__name__ == "_clusterability" and (args.n_shuffles, args.kind, args.jobs) == (2, "layer", 1)
    assert main(["clusterability", str(tmp_path / "missing.pt"), "--shuffles", "2"]) == 1
    assert "missing.pt" in capsys.readouterr().err
