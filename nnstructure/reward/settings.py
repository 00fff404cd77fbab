"""The workflow settings of chapter 5's steps, defined once: the config schema and the jobs' command lines derive from them.

Each table maps a setting name to its JSON schema (with its default, which is the
step's command-line default) and help text. A setting ``name`` is passed to the
step's ``nnstructure`` subcommand as ``--name-with-dashes VALUE`` (booleans as
``--name``/``--no-name``); a test checks that every setting is an option of its
subcommand with the same default.
"""

from __future__ import annotations

from typing import Any

GAMES = ("coinrun", "heist")  # the same as nnstructure.reward.state.GAMES (tested), without importing it


def _s(schema: dict, help: str) -> dict:
    return {**schema, "description": help}


#: ``nnstructure transitions`` (one shard) and ``transitions-merge`` / ``edit-transitions``.
TRANSITION_SETTINGS: dict[str, dict] = {
    "game": _s({"type": "string", "enum": list(GAMES)}, "procgen game"),
    "distribution_mode": _s({"type": "string", "enum": ["easy", "hard"], "default": "hard"}, "procgen distribution mode"),
    "policy": _s({"type": "string", "enum": ["lookahead", "maze", "random"]},
                 "lookahead search (CoinRun), maze search (Heist) or random actions; default: lookahead for CoinRun, "
                 "random for Heist (which matches the thesis's Heist agent's success rate)"),
    "random_rate": _s({"type": "number", "minimum": 0, "maximum": 1}, "share of random actions mixed into the policy"),
    "episodes_per_shard": _s({"type": "integer", "minimum": 1, "default": 100}, "episodes of one shard (one job)"),
    "shards": _s({"type": "integer", "minimum": 1, "default": 1}, "number of shards (jobs); episodes = shards x episodes_per_shard"),
    "seed": _s({"type": "integer", "minimum": 0, "default": 0}, "dataset seed: levels, random actions, discard filter"),
    "zero_reward_discard": _s({"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                              "share of zero-reward transitions dropped (thesis Heist: 0.95)"),
    "test_fraction": _s({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.1},
                        "share of episodes in the test split"),
    "edits": _s({"type": "integer", "minimum": 0, "default": 0},
                "CoinRun: number of edited transitions for Table 5.2 (thesis 16; 0 for none)"),
}
#: Settings of a shard job (the merge and edit jobs take the rest).
SHARD_KEYS = ("game", "distribution_mode", "policy", "random_rate", "episodes_per_shard", "seed", "zero_reward_discard")

#: ``nnstructure reward-net``: a reward net on a transition dataset (thesis 5.3).
REWARD_NET_SETTINGS: dict[str, dict] = {
    "epochs": _s({"type": "integer", "minimum": 1}, "training epochs (thesis CoinRun: 15 and 40; Heist: 1,119, ~165 suffice)"),
    "width_multiplier": _s({"type": "number", "exclusiveMinimum": 0, "default": 1.0},
                           "scales the five convolutions' channels (96, 256, 384, 384, 256); below 1 for fast presets"),
    "batch_size": _s({"type": "integer", "minimum": 1, "default": 128}, "minibatch size"),
    "lr": _s({"type": "number", "exclusiveMinimum": 0, "default": 0.001}, "Adam learning rate"),
    "init": _s({"type": "string", "enum": ["torch", "glorot"], "default": "torch"},
               "initialisation: PyTorch's default (original code) or Keras-style Glorot"),
}

#: ``nnstructure adversarial-train``: adversarial training of a reward net (thesis 5.8).
ADVERSARIAL_SETTINGS: dict[str, dict] = {
    "epochs": _s({"type": "integer", "minimum": 1, "default": 10}, "training epochs"),
    "batch_size": _s({"type": "integer", "minimum": 1, "default": 256}, "minibatch size"),
    "lr": _s({"type": "number", "exclusiveMinimum": 0, "default": 0.001}, "Adam learning rate"),
    "first_adversarial_epoch": _s({"type": "integer", "minimum": 1, "default": 5},
                                  "adversarial examples are made after this epoch and every later one"),
    "variant": _s({"type": "string", "enum": ["thesis-text", "original-code"], "default": "thesis-text"},
                  "examples per epoch: 0.1% of the training set (thesis text) or 4% (original code)"),
    "optimization_steps": _s({"type": "integer", "minimum": 1, "default": 16}, "gradient steps making each example"),
    "optimization_lr": _s({"type": "number", "exclusiveMinimum": 0, "default": 0.05}, "their Adam learning rate"),
    "max_shift": _s({"type": "integer", "minimum": 0, "default": 8}, "random translation (pixels) while optimising"),
    "clip_percentile": _s({"type": "number", "exclusiveMinimum": 0, "maximum": 100, "default": 99.0},
                          "gradients clipped to this percentile of the previous epoch's gradient norms"),
    "width_multiplier": _s({"type": "number", "exclusiveMinimum": 0, "default": 1.0}, "scales the reward net's channels"),
}

#: ``nnstructure dots-net``: a network on dots and distances images made on the fly (thesis 5.9).
DOTS_NET_SETTINGS: dict[str, dict] = {
    "task": _s({"type": "string", "enum": ["regression", "classification", "distances"]},
               "regression of the mean same-colour distance, classification at the 0.93% cut-off, or the 3 distances"),
    "n_train": _s({"type": "integer", "minimum": 1}, "training images (thesis: 9e5 or 9e6)"),
    "n_test": _s({"type": "integer", "minimum": 1, "default": 10000}, "test images"),
    "epochs": _s({"type": "integer", "minimum": 1}, "thesis: 50 (9e5 images) or 5 (9e6)"),
    "batch_size": _s({"type": "integer", "minimum": 1, "default": 128}, "minibatch size"),
    "lr": _s({"type": "number", "exclusiveMinimum": 0, "default": 0.001}, "Adam learning rate"),
    "width_multiplier": _s({"type": "number", "exclusiveMinimum": 0, "default": 1.0}, "scales the network's channels"),
    "data_seed": _s({"type": "integer", "minimum": 0, "default": 0}, "the image stream (the same for every network by default)"),
}

#: Which settings table each chapter-5 network kind uses, and the subcommand that trains it.
NETWORK_KIND_SETTINGS = {"reward": REWARD_NET_SETTINGS, "adversarial": ADVERSARIAL_SETTINGS, "dots": DOTS_NET_SETTINGS}
NETWORK_KIND_COMMANDS = {"reward": "reward-net", "adversarial": "adversarial-train", "dots": "dots-net"}


def defaults(table: dict[str, dict]) -> dict[str, Any]:
    return {name: s["default"] for name, s in table.items() if "default" in s}


def settings_schema(table: dict[str, dict], with_defaults: bool = False, required: tuple[str, ...] = ()) -> dict:
    """The JSON schema of a mapping of these settings."""
    props = {name: ({k: v for k, v in s.items() if k != "default"} if not with_defaults else dict(s))
             for name, s in table.items()}
    schema = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


def command_options(settings: dict[str, Any]) -> list[str]:
    """``--name value`` options for a step's subcommand (booleans as flags; ``None`` left out)."""
    argv: list[str] = []
    for name, value in settings.items():
        option = "--" + name.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            argv.append(option if value else "--no-" + name.replace("_", "-"))
        else:
            argv += [option, str(value)]
    return argv
