"""Feature visualisation of reward nets by optimising their inputs (thesis 5.4, Figures 5.3-5.14, C.1, C.2).

De novo synthesis (:func:`synthesize_denovo`): one transition per action, all
actions optimised as one batch. Each transition (observation and next
observation, 6 channels) is parametrised in Fourier space as in Lucid/lucent's
``fft_image``: every real and imaginary part of every mode starts N(0, 1) (the
thesis), is scaled by 1/frequency, inverted with an orthonormal 2-D FFT, divided
by 4, optionally colour-decorrelated (lucent's ``to_valid_rgb``) and squashed by
a sigmoid, so pixels always lie in (0, 1). Adam (lr 0.05) maximises the output
of the image's action for 512 steps; before every forward pass the batch is
randomly translated by up to 8 pixels (lucent's ``jitter``: a crop at a random
offset, the same for observation and next observation).

Controls: the optimised images with their pixels scrambled (one permutation of
pixel positions shared by observation and next observation, ``"joint"``, or
independent ones, ``"independent"``), and monochrome pink -> cyan transitions.

From transitions (:func:`optimize_transitions`): dataset (or edited) transitions
optimised in pixel space (pixels clamped to [0, 1] after every step) for the
output of their own action, with snapshots after 8, 16, 32, 64 and 128 steps.
The predicted reward beside every image is the network's output on the
untranslated image.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnstructure.models.reward import taken_action_output
from nnstructure.seeding import derive_seed

DEFAULT_SNAPSHOTS = (8, 16, 32, 64, 128)
# lucent's colour correlation (square root of the ImageNet colour covariance), normalised.
_COLOR_CORRELATION_SVD_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32)
PINK = (1.0, 0.0, 1.0)  # the magenta-pink of the optimised images
CYAN = (0.0, 1.0, 1.0)


@dataclass
class Visualization:
    """Optimised transitions and their predicted rewards.

    ``steps``: the optimisation steps at which snapshots were taken (0 = start);
    ``obs``/``next_obs``: float images [len(steps), N, 3, H, W] in [0, 1];
    ``actions``: [N] the action whose output each transition maximises;
    ``rewards``: [len(steps), N] that output on the untranslated snapshot.
    """

    steps: list[int]
    obs: torch.Tensor
    next_obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    settings: dict = field(default_factory=dict)

    def table(self, mode: str, network: str, item_ids=None):
        """One row per (snapshot step, item): mode, network, item, action, step, predicted_reward, settings."""
        import pandas as pd

        n = len(self.actions)
        items = np.arange(n) if item_ids is None else np.asarray(item_ids)
        rows = [{"mode": mode, "network": network, "item": int(items[i]), "action": int(self.actions[i]),
                 "step": int(step), "predicted_reward": float(self.rewards[s, i])}
                for s, step in enumerate(self.steps) for i in range(n)]
        df = pd.DataFrame(rows)
        for key, value in self.settings.items():
            df[key] = value
        return df

    def save_npz(self, path: str | os.PathLike) -> None:
        """Snapshots as uint8 arrays (steps, obs, next_obs, actions, rewards), written atomically."""
        from nnstructure.io import atomic_path

        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, steps=np.asarray(self.steps), obs=to_uint8(self.obs), next_obs=to_uint8(self.next_obs),
                                actions=self.actions.numpy(), rewards=self.rewards.numpy())


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Float images in [0, 1] as uint8 0..255 (rounded)."""
    return (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).numpy()


# --- parametrisations ---------------------------------------------------------------

def rfft2d_freqs(h: int, w: int) -> np.ndarray:
    """Spatial frequency magnitude of every mode of a real 2-D FFT of an h x w image ([h, w // 2 + 1])."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    return np.sqrt(fx * fx + fy * fy)


class FourierTransitions(nn.Module):
    """N transitions [N, 6, H, W] parametrised by their Fourier spectra (lucent's ``fft_image`` + ``to_valid_rgb``)."""

    def __init__(self, n: int, height: int, width: int, channels: int = 6, sd: float = 1.0, decay_power: float = 1.0,
                 decorrelate: bool = True, generator: torch.Generator | None = None):
        super().__init__()
        if channels % 3:
            raise ValueError(f"Fourier transitions need RGB frames (channels a multiple of 3), got {channels}")
        self.height, self.width, self.decorrelate = height, width, decorrelate
        freqs = rfft2d_freqs(height, width)
        self.spectrum = nn.Parameter(torch.randn(n, channels, *freqs.shape, 2, generator=generator) * sd)
        scale = 1.0 / np.maximum(freqs, 1.0 / max(height, width)) ** decay_power
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32)[None, None, :, :, None])
        corr = _COLOR_CORRELATION_SVD_SQRT / np.max(np.linalg.norm(_COLOR_CORRELATION_SVD_SQRT, axis=0))
        self.register_buffer("color", torch.tensor(corr.T))

    def forward(self) -> torch.Tensor:
        spectrum = torch.view_as_complex((self.scale * self.spectrum).contiguous())
        image = torch.fft.irfft2(spectrum, s=(self.height, self.width), norm="ortho") / 4.0
        if self.decorrelate:
            n, c, h, w = image.shape
            rgb = image.view(n, c // 3, 3, h, w).permute(0, 1, 3, 4, 2)
            image = (rgb @ self.color).permute(0, 1, 4, 2, 3).reshape(n, c, h, w)
        return torch.sigmoid(image)


class PixelTransitions(nn.Module):
    """Transitions [N, 6, H, W] parametrised by their pixels (kept in [0, 1] by :meth:`project`)."""

    def __init__(self, obs: torch.Tensor, next_obs: torch.Tensor):
        super().__init__()
        x = torch.cat([obs, next_obs], dim=1)
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        self.pixels = nn.Parameter(x.clone())

    def forward(self) -> torch.Tensor:
        return self.pixels

    @torch.no_grad()
    def project(self) -> None:
        self.pixels.clamp_(0.0, 1.0)


# --- optimisation -------------------------------------------------------------------

def random_translate(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Lucent's jitter: the crop of size (H - max_shift, W - max_shift) at a random offset in 0..max_shift."""
    if max_shift <= 0:
        return x
    h, w = x.shape[-2:]
    if max_shift >= min(h, w):
        raise ValueError(f"max_shift {max_shift} must be smaller than the image ({h}x{w})")
    oy, ox = (int(v) for v in torch.randint(0, max_shift + 1, (2,), generator=generator))
    return x[..., oy:oy + h - max_shift, ox:ox + w - max_shift]


@torch.no_grad()
def _own_rewards(model: nn.Module, x: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    return taken_action_output(model(x), actions).cpu()


def _optimize(model: nn.Module, param: nn.Module, actions: torch.Tensor, steps: int, lr: float, max_shift: int,
              snapshots, seed: int) -> tuple[list[int], list[torch.Tensor], list[torch.Tensor]]:
    device = next(model.parameters()).device
    param.to(device)
    actions = actions.to(device)
    gen = torch.Generator().manual_seed(derive_seed(seed, "translate"))
    keep = sorted({0, *[int(s) for s in snapshots if 0 < int(s) <= steps], steps})
    optimizer = torch.optim.Adam(param.parameters(), lr=lr)
    was_training = model.training
    requires = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    taken_steps, images, rewards = [], [], []
    try:
        for step in range(steps + 1):
            if step in keep:
                with torch.no_grad():
                    x = param()
                    taken_steps.append(step)
                    images.append(x.detach().cpu().clone())
                    rewards.append(_own_rewards(model, x, actions))
            if step == steps:
                break
            with torch.enable_grad():
                x = random_translate(param(), max_shift, gen)
                objective = taken_action_output(model(x), actions).sum()
                optimizer.zero_grad(set_to_none=True)
                (-objective).backward()
                optimizer.step()
            if hasattr(param, "project"):
                param.project()
    finally:
        for p, r in zip(model.parameters(), requires):
            p.requires_grad_(r)
        model.train(was_training)
    return taken_steps, images, rewards


def _result(steps, images, rewards, actions, settings) -> Visualization:
    stacked = torch.stack(images)
    c = stacked.shape[2] // 2
    return Visualization(steps=steps, obs=stacked[:, :, :c], next_obs=stacked[:, :, c:], actions=actions.cpu(),
                         rewards=torch.stack(rewards), settings=settings)


def synthesize_denovo(model: nn.Module, frame_shape=(3, 64, 64), actions=None, steps: int = 512, lr: float = 0.05,
                      max_shift: int = 8, sd: float = 1.0, decorrelate: bool = True, seed: int = 0,
                      snapshots=()) -> Visualization:
    """De novo synthesis: one transition per action in ``actions`` (default all outputs), optimised as one batch."""
    n_out = _n_outputs(model)
    actions = torch.arange(n_out) if actions is None else torch.as_tensor(actions).long()
    c, h, w = frame_shape
    gen = torch.Generator().manual_seed(derive_seed(seed, "fourier-init"))
    param = FourierTransitions(len(actions), h, w, 2 * c, sd=sd, decorrelate=decorrelate, generator=gen)
    out = _optimize(model, param, actions, steps, lr, max_shift, snapshots, seed)
    settings = {"steps": steps, "lr": lr, "max_shift": max_shift, "init_sd": sd, "decorrelate": decorrelate,
                "parametrisation": "fourier", "seed": seed}
    return _result(*out, actions, settings)


def optimize_transitions(model: nn.Module, obs: torch.Tensor, next_obs: torch.Tensor, actions: torch.Tensor,
                         steps: int = 128, lr: float = 0.05, max_shift: int = 8, seed: int = 0,
                         snapshots=DEFAULT_SNAPSHOTS) -> Visualization:
    """Optimise given transitions in pixel space for the output of their own ``actions`` (snapshots kept).

    ``obs``/``next_obs``: [N, 3, H, W] uint8 frames or floats in [0, 1]. Also the
    "adversarial examples" of thesis 5.8 (highest-reward transitions + 16 steps).
    """
    actions = torch.as_tensor(actions).long()
    param = PixelTransitions(obs, next_obs)
    out = _optimize(model, param, actions, steps, lr, max_shift, snapshots, seed)
    settings = {"steps": steps, "lr": lr, "max_shift": max_shift, "parametrisation": "pixels", "seed": seed}
    return _result(*out, actions, settings)


def _n_outputs(model: nn.Module) -> int:
    return [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features


# --- controls -------------------------------------------------------------------------

def scramble_pixels(obs: torch.Tensor, next_obs: torch.Tensor, joint: bool = True, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Randomly permute the pixel positions of each transition (RGB values move together).

    ``joint``: one permutation per transition shared by observation and next
    observation (pixel-wise changes between the frames are kept); otherwise an
    independent permutation per frame.
    """
    gen = torch.Generator().manual_seed(derive_seed(seed, "scramble", joint))
    n, c, h, w = obs.shape

    def permute(x, perms):
        flat = x.reshape(n, c, h * w)
        return torch.stack([flat[i][:, perms[i]] for i in range(n)]).reshape(n, c, h, w)

    perms = [torch.randperm(h * w, generator=gen) for _ in range(n)]
    other = perms if joint else [torch.randperm(h * w, generator=gen) for _ in range(n)]
    return permute(obs, perms), permute(next_obs, other)


def monochrome_transitions(frame_shape=(3, 64, 64), start=PINK, end=CYAN) -> tuple[torch.Tensor, torch.Tensor]:
    """One transition from a uniformly ``start``-coloured observation to a uniformly ``end``-coloured one."""
    c, h, w = frame_shape
    obs = torch.tensor(start, dtype=torch.float32).view(1, c, 1, 1).expand(1, c, h, w).clone()
    nxt = torch.tensor(end, dtype=torch.float32).view(1, c, 1, 1).expand(1, c, h, w).clone()
    return obs, nxt


def denovo_controls(model: nn.Module, vis: Visualization, network: str = "network", seed: int = 0):
    """The controls of thesis 5.4 as a table: scrambled final images (joint and independent) and pink -> cyan.

    Rows: control ("original", "scrambled-joint", "scrambled-independent") x item
    with the item's own action, and "pink-to-cyan" with every action's output.
    """
    import pandas as pd

    from nnstructure.models.reward import predict_rewards

    obs, nxt = vis.obs[-1], vis.next_obs[-1]
    rows = []
    variants = {"original": (obs, nxt), "scrambled-joint": scramble_pixels(obs, nxt, True, seed),
                "scrambled-independent": scramble_pixels(obs, nxt, False, seed)}
    for control, (o, x) in variants.items():
        pred = predict_rewards(model, o, x, vis.actions)
        rows += [{"network": network, "control": control, "item": i, "action": int(vis.actions[i]),
                  "predicted_reward": float(pred[i])} for i in range(len(pred))]
    o, x = monochrome_transitions(tuple(obs.shape[1:]))
    pred = predict_rewards(model, o, x)[0]
    rows += [{"network": network, "control": "pink-to-cyan", "item": 0, "action": a, "predicted_reward": float(pred[a])}
             for a in range(len(pred))]
    return pd.DataFrame(rows)


# --- starting transitions -------------------------------------------------------------

def high_reward_transitions(model: nn.Module, dataset, n: int = 16, target: float = 10.0, split: str = "test",
                            batch_size: int = 256) -> dict:
    """The ``n`` rewarded transitions of ``split`` whose predicted reward is closest to ``target`` (thesis: ~10).

    Candidates are the transitions with a positive reward (the ones a reward net
    can rightly predict 10 for); returns their batch dict (with "row") plus
    "predicted_reward".
    """
    from nnstructure.models.reward import predict_rewards

    rewarded = dataset.column("reward") > 0
    if dataset.n(split, where=rewarded) == 0:
        raise ValueError(f"split {split!r} of {dataset.path} has no rewarded transitions to start from")
    rows, preds = [], []
    for batch in dataset.batches(split, batch_size, shuffle=False, columns=("row",), where=rewarded):
        preds.append(predict_rewards(model, batch["obs"], batch["next_obs"], batch["action"], batch_size))
        rows.append(batch["row"])
    rows_t, preds_t = torch.cat(rows), torch.cat(preds)
    order = torch.argsort((preds_t - target).abs(), stable=True)[:n]
    chosen = dataset.load(rows_t[order].numpy())
    chosen["predicted_reward"] = preds_t[order]
    return chosen


# --- figures ---------------------------------------------------------------------------

def plot_transitions(obs: np.ndarray, next_obs: np.ndarray, titles: list[str], path: str | os.PathLike,
                     columns: int = 4, suptitle: str | None = None) -> Path:
    """A grid of transitions (observation beside next observation), one title per transition; PNG written atomically.

    ``obs``/``next_obs``: uint8 [N, 3, H, W].
    """
    from matplotlib.figure import Figure

    from nnstructure.io import save_figure

    import textwrap

    n = len(obs)
    columns = max(1, min(columns, n))
    rows = int(np.ceil(n / columns))
    # Wide enough for the panel titles (7 pt, about 0.06 in a character, over a transition's two panels) and
    # the title (9 pt, wrapped at the figure's width); constrained layout keeps every text inside the figure.
    longest = max((len(t) for t in titles), default=0)
    width = max(2.6, 0.06 * longest + 0.3) * columns
    lines = textwrap.wrap(suptitle, max(20, int(width / 0.075))) if suptitle else []
    fig = Figure(figsize=(width, 1.5 * rows + 0.2 * len(lines) + 0.2), layout="constrained")
    axes = fig.subplots(rows, 2 * columns, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        r, c = divmod(i, columns)
        for j, frames in enumerate((obs, next_obs)):
            ax = axes[r, 2 * c + j]
            ax.imshow(np.transpose(frames[i], (1, 2, 0)), interpolation="nearest")
        axes[r, 2 * c].set_title(titles[i], fontsize=7, loc="left")
    if lines:
        fig.suptitle("\n".join(lines), fontsize=9)
    save_figure(fig, path)
    return Path(path)


def plot_snapshots(vis: Visualization, path: str | os.PathLike, items=None, suptitle: str | None = None) -> Path:
    """Rows = transitions, columns = snapshots (observation and next observation), predicted reward in each title."""
    items = list(range(len(vis.actions))) if items is None else list(items)
    obs, nxt = to_uint8(vis.obs), to_uint8(vis.next_obs)
    grid_obs = np.stack([obs[s, i] for i in items for s in range(len(vis.steps))])
    grid_next = np.stack([nxt[s, i] for i in items for s in range(len(vis.steps))])
    titles = [f"#{i} a{int(vis.actions[i])} step {vis.steps[s]}: {float(vis.rewards[s, i]):.3g}"
              for i in items for s in range(len(vis.steps))]
    return plot_transitions(grid_obs, grid_next, titles, path, columns=len(vis.steps), suptitle=suptitle)
