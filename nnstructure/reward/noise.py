"""Out-of-distribution tests of reward nets: random noise (thesis 5.5, Table 5.1) and edited transitions (5.6, Table 5.2).

Noise images draw every RGB value of every pixel independently from N(0.5, 1)
(mean 0.5, variance 1). The thesis text clips them to [0, 1]
(``clip=True``, variant ``"thesis-text"``); the original code fed them
unclipped (``clip=False``, variant ``"original-code"``). Each test uses ``n``
images: pairing ``"different"`` pairs image i with an independent image i'
(observation, next observation); ``"same"`` uses image i for both. All actions'
outputs of every input are counted separately in the mean and standard
deviation (Table 5.1's caption).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from nnstructure.seeding import derive_seed

NOISE_MEAN = 0.5
NOISE_SD = 1.0
PAIRINGS = ("different", "same")


def noise_variant(clip: bool) -> str:
    """``"thesis-text"`` for clipped noise, ``"original-code"`` for unclipped."""
    return "thesis-text" if clip else "original-code"


def noise_images(n: int, shape=(3, 64, 64), clip: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` float images [n, *shape], each value N(0.5, 1), clipped to [0, 1] when ``clip``."""
    x = torch.randn((n, *shape), generator=generator) * NOISE_SD + NOISE_MEAN
    return x.clamp_(0.0, 1.0) if clip else x


def noise_pairs(n: int, frame_shape=(3, 64, 64), clip: bool = True, seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{pairing: (obs, next_obs)}`` for both pairings; "same" reuses the observations of "different"."""
    gen = torch.Generator().manual_seed(derive_seed(seed, "noise-test"))
    obs = noise_images(n, frame_shape, clip, gen)
    other = noise_images(n, frame_shape, clip, gen)
    return {"different": (obs, other), "same": (obs, obs)}


@torch.no_grad()
def _all_outputs(model: nn.Module, obs: torch.Tensor, next_obs: torch.Tensor, batch_size: int,
                 precision: str = "fp32") -> torch.Tensor:
    from nnstructure.train.precision import autocast

    device = next(model.parameters()).device
    was = model.training
    model.eval()
    with autocast(device, precision):
        outs = [model(torch.cat([obs[i:i + batch_size], next_obs[i:i + batch_size]], dim=1).to(device)).float().cpu()
                for i in range(0, len(obs), batch_size)]
    model.train(was)
    return torch.cat(outs)


def noise_test(model: nn.Module, n: int = 100, clip: bool = True, seed: int = 0, network: str = "network",
               frame_shape=(3, 64, 64), batch_size: int = 50, precision: str = "fp32"):
    """Table 5.1 for one network: a tidy DataFrame, one row per (pairing, image, action).

    Columns: network, pairing, image, action, predicted_reward, clip, noise_variant,
    n_images, seed. The model takes [6, H, W] inputs (observation and next
    observation, ``frame_shape`` = [3, H, W] each); the noise is fed as floats in
    the network's input scale (where [0, 1] is black to white). ``precision``: ``"bf16"`` predicts under
    bfloat16 autocast (the checkpoint functions use the precision the network was trained at).
    """
    import pandas as pd

    # The first convolution's weight (also in TorchScript modules, whose layers are not nn.Conv2d).
    kernels = [p for p in model.parameters() if p.ndim == 4]
    if kernels and kernels[0].shape[1] != 6:
        raise ValueError(f"the noise test needs a transition reward net (6 input channels), got {kernels[0].shape[1]}")
    if n < 1:
        raise ValueError(f"the noise test needs n >= 1 images, got {n}")
    frames: list[pd.DataFrame] = []
    for pairing, (obs, nxt) in noise_pairs(n, tuple(frame_shape), clip, seed).items():
        out = _all_outputs(model, obs, nxt, batch_size, precision).numpy()
        images, actions = np.meshgrid(np.arange(n), np.arange(out.shape[1]), indexing="ij")
        frames.append(pd.DataFrame({
            "network": network, "pairing": pairing, "image": images.ravel(), "action": actions.ravel(),
            "predicted_reward": out.ravel().astype(np.float64),
        }))
    df = pd.concat(frames, ignore_index=True)
    df["clip"] = bool(clip)
    df["noise_variant"] = noise_variant(clip)
    df["n_images"] = int(n)
    df["seed"] = int(seed)
    return df


def summarize_predictions(df, by=("network", "pairing", "clip", "noise_variant")):
    """Mean, standard deviation (ddof=1) and count of ``predicted_reward`` per group (Tables 5.1 and 5.2)."""
    by = [c for c in by if c in df.columns]
    g = df.groupby(by, sort=False)["predicted_reward"]
    out = g.agg(mean="mean", sd="std", count="size").reset_index()
    return out


def noise_test_checkpoint(checkpoint: str | os.PathLike, n: int = 100, clip: bool = True, seed: int = 0,
                          network: str | None = None, device: str | torch.device | None = None,
                          allow_pickle: bool = False):
    """:func:`noise_test` on a reward-net checkpoint (input size from its spec)."""
    from pathlib import Path

    from nnstructure.reward.nets import load_reward_net
    from nnstructure.reward.terminal_frames import network_terminal_frame
    from nnstructure.train.precision import network_precision

    ckpt = load_reward_net(checkpoint, device, allow_pickle=allow_pickle)
    spec = ckpt.metadata["spec"]
    frame_shape = (spec["input_shape"][0] // 2, *spec["input_shape"][1:])
    df = noise_test(ckpt.model, n=n, clip=clip, seed=seed, network=network or Path(checkpoint).stem, frame_shape=frame_shape,
                    precision=network_precision(ckpt.metadata))
    df["terminal_frame"] = network_terminal_frame(ckpt.metadata)  # what the net learnt from, beside its answer to noise
    df["game"] = ckpt.metadata.get("game")
    df["epochs"] = int(ckpt.metadata.get("epochs_trained", 0))
    return df


# --- edited transitions (Table 5.2) -----------------------------------------------

def predict_transition_sets(model: nn.Module, sets: dict[str, dict], network: str = "network", batch_size: int = 64,
                            precision: str = "fp32"):
    """Predicted rewards of labelled transition sets, one row per (edit, example).

    ``sets`` maps an edit name ("original", "translated", "rearranged", ...) to
    ``{"obs", "next_obs": [B, 3, H, W] uint8 or float in [0, 1], "action": [B]}``
    (optionally "example": [B] example ids, "reward": the game's reward).
    Columns: network, edit, example, action, predicted_reward (+ game_reward).
    """
    import pandas as pd

    from nnstructure.models.reward import predict_rewards

    frames = []
    for edit, batch in sets.items():
        action = torch.as_tensor(batch["action"]).long()
        pred = predict_rewards(model, torch.as_tensor(batch["obs"]), torch.as_tensor(batch["next_obs"]), action, batch_size,
                               precision)
        example = np.asarray(batch.get("example", np.arange(len(action))))
        frame = pd.DataFrame({"network": network, "edit": edit, "example": example,
                              "action": action.numpy(), "predicted_reward": pred.numpy().astype(np.float64)})
        if "reward" in batch:
            frame["game_reward"] = np.asarray(batch["reward"], dtype=np.float64)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


EDITS_FILE = "edited_transitions.npz"
EDITS_TABLE = "edited_transitions.parquet"


def load_edit_sets(edits_dir: str | os.PathLike) -> dict[str, dict]:
    """The edited transitions of :func:`nnstructure.reward.edits.make_edited_transitions` as labelled sets.

    Reads ``<edits_dir>/edited_transitions.npz`` (``obs``/``next_obs`` uint8
    [variants, n, H, W, 3], ``action`` [variants, n], ``variants``) and returns
    ``{variant: {"obs", "next_obs": uint8 [n, 3, H, W], "action": int64 [n],
    "example": [n], "reward": [n]}}`` (reward: the game's reward of the edited
    transition, from ``edited_transitions.parquet`` when present, else 10).
    """
    from pathlib import Path

    from nnstructure.io import ArtifactError, read_parquet

    path = Path(edits_dir) / EDITS_FILE
    hint = "run `nnstructure edit-transitions` (the edited-transitions job) to make it"
    if not path.exists():
        raise ArtifactError(f"{path} does not exist; {hint}")
    try:
        with np.load(path, allow_pickle=False) as z:
            obs, nxt, action, variants = z["obs"], z["next_obs"], z["action"], [str(v) for v in z["variants"]]
    except Exception as exc:
        raise ArtifactError(f"{path} is truncated or corrupt ({type(exc).__name__}: {exc}); delete it and {hint}") from exc
    if obs.ndim != 5 or obs.shape != nxt.shape or obs.shape[-1] != 3 or action.shape != obs.shape[:2] or len(variants) != len(obs):
        raise ArtifactError(f"{path} holds obs {obs.shape}, next_obs {nxt.shape}, action {action.shape} for {len(variants)} "
                            f"variants; expected [variants, n, H, W, 3] frames and [variants, n] actions. Delete it and {hint}")
    rewards = {}
    table_path = Path(edits_dir) / EDITS_TABLE
    if table_path.exists():
        table = read_parquet(table_path)
        for variant, g in table.groupby("variant"):
            rewards[str(variant)] = g.sort_values("index")["game_reward"].to_numpy(dtype=np.float64)
    sets = {}
    for v, variant in enumerate(variants):
        n = obs.shape[1]
        sets[variant] = {
            "obs": torch.from_numpy(np.ascontiguousarray(obs[v].transpose(0, 3, 1, 2))),
            "next_obs": torch.from_numpy(np.ascontiguousarray(nxt[v].transpose(0, 3, 1, 2))),
            "action": torch.from_numpy(action[v].astype(np.int64)),
            "example": np.arange(n),
            "reward": rewards.get(variant, np.full(n, 10.0)),
        }
    return sets


def predict_edits_checkpoint(checkpoint: str | os.PathLike, edits_dir: str | os.PathLike, network: str | None = None,
                             device: str | torch.device | None = None, allow_pickle: bool = False):
    """Table 5.2 for one network: :func:`predict_transition_sets` on the edited transitions in ``edits_dir``."""
    from pathlib import Path

    from nnstructure.reward.nets import load_reward_net
    from nnstructure.reward.terminal_frames import edit_sets_with_terminal_frame, network_terminal_frame
    from nnstructure.train.precision import network_precision

    ckpt = load_reward_net(checkpoint, device, allow_pickle=allow_pickle)
    terminal_frame = network_terminal_frame(ckpt.metadata)
    sets = edit_sets_with_terminal_frame(load_edit_sets(edits_dir), terminal_frame)
    df = predict_transition_sets(ckpt.model, sets, network=network or Path(checkpoint).stem,
                                 precision=network_precision(ckpt.metadata))
    df["terminal_frame"] = terminal_frame
    df["game"] = ckpt.metadata.get("game")
    df["epochs"] = int(ckpt.metadata.get("epochs_trained", 0))
    return df
