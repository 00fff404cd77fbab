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


def _precision(default: str) -> dict:
    """The training setting ``precision`` (defined once, in :class:`nnstructure.train.config.TrainConfig`)
    with a chapter-5 default: ``auto``, bf16 autocast where the device has it natively (it trains these
    convolutional nets 2-6x faster on an AMX CPU, ``benchmarks/reward_nets.py``, and uses tensor cores on
    a GPU) and fp32 elsewhere (an AVX2-only CPU runs bf16 convolutions 10-50x slower than fp32)."""
    from nnstructure.train.config import setting_fields

    f = setting_fields()["precision"]
    return _s({**f.metadata["schema"], "default": default}, f.metadata["help"])


def _unset_train_setting(name: str) -> dict:
    """A training setting of :class:`nnstructure.train.config.TrainConfig` (defined there once), unset by default
    (null: that setting's own default, the thesis's), so the networks trained before it existed keep their params."""
    from nnstructure.train.config import setting_default, setting_fields

    f = setting_fields()[name]
    schema = {**f.metadata["schema"], "type": [f.metadata["schema"]["type"], "null"], "default": None}
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return _s(schema, f"{f.metadata['help']}; null: {setting_default(f)}")


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
                           "scales the convolutions' channels (channels: the thesis's 96, 256, 384, 384, 256); below 1 "
                           "for fast presets"),
    "channels": _s({"type": ["array", "null"], "items": {"type": "integer", "minimum": 1}, "minItems": 1, "default": None},
                   "the convolutions' channels before width_multiplier, one per layer; null: the thesis's 96, 256, 384, "
                   "384, 256. Fast presets widen the first layer, the one that compares the two frames: at width 1/32 "
                   "its 3 channels did not learn CoinRun's reward, and 12 (384 x 1/32) did, at nearly the same cost"),
    "batch_size": _s({"type": "integer", "minimum": 1, "default": 128}, "minibatch size"),
    "lr": _s({"type": "number", "exclusiveMinimum": 0, "default": 0.001}, "Adam learning rate"),
    "lr_schedule": _unset_train_setting("lr_schedule"),
    "grad_clip_norm": _unset_train_setting("grad_clip_norm"),
    "init": _s({"type": "string", "enum": ["torch", "glorot"], "default": "torch"},
               "initialisation: PyTorch's default (original code) or Keras-style Glorot"),
    "precision": _precision("auto"),
    "zero_reward_discard": _s({"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.0},
                              "share of the zero-reward training transitions left out of each epoch (drawn afresh every "
                              "epoch; rewarded ones always kept; the test loss is always on every test transition). "
                              "0: the thesis's CoinRun nets; the thesis's Heist dataset discarded 0.95"),
    "discard_weighting": _s({"type": "boolean", "default": True},
                            "with zero_reward_discard, weigh each kept zero-reward transition 1 / (1 - discard) in the "
                            "loss, so the net learns the real base rate (off: fitted to the discarded distribution)"),
    "weighting_from_epoch": _s({"type": "integer", "minimum": 1, "default": 1},
                               "with discard_weighting, the first epoch (from 1) whose loss is weighted; the epochs "
                               "before train unweighted, where the rewarded transitions dominate the gradient"),
    "terminal_frame": _s({"type": "string", "enum": ["real", "repeat"], "default": "real"},
                         "the next observation of a step that ends an episode: the real frame after the final action "
                         "(the thesis text; the original code's final-obs env), or the observation again (repeat: "
                         "procgen's gym env, under which the original code's 15-epoch CoinRun net was trained); "
                         "see nnstructure.reward.terminal_frames"),
}

#: Where an adversarial example set's starting transitions are ranked: every training transition (the thesis), or a
#: seeded sample of the size of a discarded epoch (every rewarded one, a share 1 - zero_reward_discard of the others).
CANDIDATE_POOLS = ("all", "epoch-sample")

#: ``nnstructure adversarial-train``: adversarial training of a reward net (thesis 5.8).
ADVERSARIAL_SETTINGS: dict[str, dict] = {
    "epochs": _s({"type": "integer", "minimum": 1, "default": 10}, "training epochs"),
    "batch_size": _s({"type": "integer", "minimum": 1, "default": 256}, "minibatch size"),
    "lr": _s({"type": "number", "exclusiveMinimum": 0, "default": 0.001}, "Adam learning rate"),
    "lr_schedule": REWARD_NET_SETTINGS["lr_schedule"],
    "grad_clip_norm": REWARD_NET_SETTINGS["grad_clip_norm"],
    "first_adversarial_epoch": _s({"type": "integer", "minimum": 1, "default": 5},
                                  "adversarial examples are made after this epoch and every later one"),
    "variant": _s({"type": "string", "enum": ["thesis-text", "original-code"], "default": "thesis-text"},
                  "examples per epoch: 0.1% of the training set (thesis text) or 4% (original code)"),
    "optimization_steps": _s({"type": "integer", "minimum": 1, "default": 16}, "gradient steps making each example"),
    "optimization_lr": _s({"type": "number", "exclusiveMinimum": 0, "default": 0.05}, "their Adam learning rate"),
    "max_shift": _s({"type": "integer", "minimum": 0, "default": 8}, "random translation (pixels) while optimising"),
    "clip_percentile": _s({"type": "number", "exclusiveMinimum": 0, "maximum": 100, "default": 99.0},
                          "gradients clipped to this percentile of the previous epoch's gradient norms"),
    # unset by default (the step's own default, all), so the adversarial nets trained before it existed keep their params
    "candidate_pool": _s({"type": ["string", "null"], "enum": [*CANDIDATE_POOLS, None], "default": None},
                         "where a set's starting transitions are ranked by predicted reward: all (the thesis: every "
                         "training transition, a pass over the whole training set per set) or epoch-sample (every "
                         "rewarded one and a seeded share 1 - zero_reward_discard of the others, 1/15 of the pass at "
                         "0.95); null: all"),
    "width_multiplier": _s({"type": "number", "exclusiveMinimum": 0, "default": 1.0}, "scales the reward net's channels"),
    "channels": REWARD_NET_SETTINGS["channels"],
    # unset by default (the step's own default, torch), so the adversarial nets trained before it existed keep their params
    "init": _s({**REWARD_NET_SETTINGS["init"], "type": ["string", "null"], "enum": ["torch", "glorot", None], "default": None},
               f"{REWARD_NET_SETTINGS['init']['description']}; null: torch"),
    "precision": _precision("auto"),
    "zero_reward_discard": REWARD_NET_SETTINGS["zero_reward_discard"],
    "discard_weighting": REWARD_NET_SETTINGS["discard_weighting"],
    "weighting_from_epoch": REWARD_NET_SETTINGS["weighting_from_epoch"],
    "terminal_frame": REWARD_NET_SETTINGS["terminal_frame"],
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
    "precision": _precision("auto"),
    # unset by default (null: the step's own default), so the dots nets trained before these existed keep their params
    "channels": _s({k: v for k, v in REWARD_NET_SETTINGS["channels"].items() if k != "description"},
                   "the convolutions' channels before width_multiplier, one per layer; null: the thesis's 96, 256, "
                   "384, 384, 256 (config/ch5-cpu.yaml widens the first layer, as for its reward nets)"),
    "init": ADVERSARIAL_SETTINGS["init"],
    "lr_schedule": REWARD_NET_SETTINGS["lr_schedule"],
    "grad_clip_norm": REWARD_NET_SETTINGS["grad_clip_norm"],
    "class_discard": _s({"type": ["number", "null"], "minimum": 0, "exclusiveMaximum": 1, "default": None},
                        "classification: share of the common class's training images (class 1, 99.07%) left out of "
                        "each epoch, drawn afresh every epoch and weighted 1 / (1 - discard) in the loss; every "
                        "class-0 image is kept and the test loss is on the whole test split (CoinRun's "
                        "zero-reward discard, for dots); null: 0, every image"),
    "weighting_from_epoch": _s({"type": ["integer", "null"], "minimum": 1, "default": None},
                               "with class_discard, the first epoch (from 1) whose loss is weighted; the epochs before "
                               "train unweighted, where class 0 (about a sixth of a discarded epoch) dominates the "
                               "gradient; null: 1"),
}

#: Which settings table each chapter-5 network kind uses, and the subcommand that trains it.
NETWORK_KIND_SETTINGS = {"reward": REWARD_NET_SETTINGS, "adversarial": ADVERSARIAL_SETTINGS, "dots": DOTS_NET_SETTINGS}
NETWORK_KIND_COMMANDS = {"reward": "reward-net", "adversarial": "adversarial-train", "dots": "dots-net"}


def defaults(table: dict[str, dict]) -> dict[str, Any]:
    """The settings' defaults. A null default means "not set" (the step's own default applies, as the thesis's
    channels for ``channels``) and is left out, so adding such a setting changes no existing network's params."""
    return {name: s["default"] for name, s in table.items() if s.get("default") is not None}


def without_unset(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` without the ones set to null, which mean "the step's own default" (see :func:`defaults`)."""
    return {name: value for name, value in settings.items() if value is not None}


def settings_schema(table: dict[str, dict], with_defaults: bool = False, required: tuple[str, ...] = ()) -> dict:
    """The JSON schema of a mapping of these settings."""
    props = {name: ({k: v for k, v in s.items() if k != "default"} if not with_defaults else dict(s))
             for name, s in table.items()}
    schema = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


def add_settings_options(parser, table: dict[str, dict], required: tuple[str, ...] = ()) -> None:
    """One ``--name`` option per setting of ``table``, typed and defaulted from its schema (the single definition)."""
    import argparse

    for name, spec in table.items():
        kind = spec["type"][0] if isinstance(spec["type"], list) else spec["type"]
        option = "--" + name.replace("_", "-")
        kwargs: dict[str, Any] = {"dest": name, "help": spec["description"].replace("%", "%%")}  # argparse formats help
        if name in required:
            kwargs["required"] = True
        else:
            kwargs["default"] = spec.get("default")
            if "default" in spec:
                kwargs["help"] += f" (default {spec['default']})"
        if kind == "boolean":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif kind == "array":
            from nnstructure.train.config import _list_of_ints

            kwargs.update(type=_list_of_ints, metavar="N,N,...")
        elif "enum" in spec:
            kwargs["choices"] = [v for v in spec["enum"] if v is not None]
        else:
            kwargs["type"] = int if kind == "integer" else float
        parser.add_argument(option, **kwargs)


def settings_from_options(args, table: dict[str, dict]) -> dict[str, Any]:
    """The settings of ``table`` given on the command line (unset optional ones left out)."""
    return {name: getattr(args, name) for name in table if getattr(args, name) is not None}


def command_options(settings: dict[str, Any]) -> list[str]:
    """``--name value`` options for a step's subcommand (booleans as flags; ``None`` left out)."""
    argv: list[str] = []
    for name, value in settings.items():
        option = "--" + name.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            argv.append(option if value else "--no-" + name.replace("_", "-"))
        elif isinstance(value, (list, tuple)):
            argv += [option, ",".join(str(v) for v in value)]
        else:
            argv += [option, str(value)]
    return argv
