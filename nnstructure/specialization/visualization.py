"""Feature visualisation of subclusters (thesis 4.4.3), many images optimised as one batch.

For a set of units ``c`` of one hidden layer an input image ``x`` is optimised
with Adam to maximise the L1 norm of their pre-ReLU activations (for conv
channels the L1 norm of L1 norms of their feature maps). The *score* is that
objective on the final image; the *softmax entropy* is the entropy (nats) of
the network's output distribution on it. Both are coherence measures.

Every image has its own seed: its initial parameters and the random
transformations of every step come from a generator seeded with it, and Adam
acts elementwise, so optimising ``B`` images as one batch gives each image the
result it would get alone (up to floating-point summation order).

Two presets (:meth:`VisualizationSettings.preset`) follow the thesis text and
the original code (``src/lucid.py`` of github.com/thestephencasper/local_specialization,
which used Lucid):

* ``"thesis"``: pixel parameterisation (``sigmoid`` of free pixels, initialised
  ``N(0, 0.01)``), Adam (lr 0.05, Lucid's default), 100 steps, random jitter
  and scaling, objective ``sum_u ||a_u||_1``.
* ``"original"``: Lucid's default parameterisation, a Fourier-space image with
  ``1/f`` scaled spectrum and decorrelated colours (3 colour channels), Adam lr
  0.05, 64 steps, objective ``sum_u |mean_space a_u|`` (Lucid's ``channel``
  objective with ``abs``). One-channel networks see the mean of the three
  colour channels: this is exactly a "3-channel copy" of the network (the
  first layer's weights split equally over three stacked copies of its input);
  the original code instead trained separate networks on stacked 3-channel
  MNIST.

Transformations (``transforms``), redrawn every step and applied as one
random similarity transform per image that keeps the image size (pixels
outside the source take ``fill``):

* ``"jitter-scale"`` (small networks): a shift of up to ``jitter`` pixels and a
  scale from ``scales`` (Lucid's ``random_scale`` list, 0.9-1.1);
* ``"lucid-standard"`` (ImageNet networks): a shift of up to 12 pixels
  (Lucid's ``jitter(8)`` then ``jitter(4)``), a scale from 0.9-1.1 and a
  rotation from -10..10 degrees (Lucid's ``random_rotate`` list, weighted
  towards 0), grey (0.5) fill in place of Lucid's 12-pixel grey padding;
* ``"none"``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnstructure.graph.activations import UnitLayer
from nnstructure.specialization.choices import OBJECTIVES, PARAMETERIZATIONS, TRANSFORMS, VIS_METHODS


_SCALES = tuple(1 + (i - 5) / 50 for i in range(11))
_ROTATIONS = tuple(range(-10, 11)) + (0,) * 5
# Lucid's colour decorrelation (square root of the ImageNet colour covariance, by SVD).
_COLOR_SVD_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32)
_COLOR_NORMALIZED = _COLOR_SVD_SQRT / np.max(np.linalg.norm(_COLOR_SVD_SQRT, axis=0))


@dataclass(frozen=True)
class VisualizationSettings:
    method: str = "thesis"
    parameterization: str = "pixel"
    steps: int = 100
    lr: float = 0.05
    transforms: str = "jitter-scale"
    objective: str = "l1"
    jitter: int = 2
    init_sd: float = 0.01

    def __post_init__(self) -> None:
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS}, got {self.parameterization!r}")
        if self.transforms not in TRANSFORMS:
            raise ValueError(f"transforms must be one of {TRANSFORMS}, got {self.transforms!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.steps < 1 or self.lr <= 0 or self.jitter < 0 or self.init_sd <= 0:
            raise ValueError("visualisation needs steps >= 1, lr > 0, jitter >= 0 and init_sd > 0")

    @classmethod
    def preset(cls, method: str = "thesis", imagenet: bool = False, **overrides) -> "VisualizationSettings":
        """The thesis-text or original-code settings (``imagenet`` picks Lucid's standard transforms)."""
        if method not in VIS_METHODS:
            raise ValueError(f"visualisation method must be one of {VIS_METHODS}, got {method!r}")
        transforms = "lucid-standard" if imagenet else "jitter-scale"
        if method == "thesis":
            base = cls("thesis", "pixel", 100, 0.05, transforms, "l1")
        else:
            base = cls("original", "fourier", 64, 0.05, transforms, "abs-mean")
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def record(self) -> dict:
        """Columns recording these settings in a results row."""
        return {f"vis_{k}": v for k, v in asdict(self).items()}


def _image_channels(settings: VisualizationSettings, net_channels: int) -> int:
    return 3 if settings.parameterization == "fourier" else net_channels


def _fft_freqs(h: int, w: int) -> np.ndarray:
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[: w // 2 + 1]
    return np.sqrt(fx * fx + fy * fy)


class _Images:
    """The image parameters of a batch and their map to ``[0, 1]`` images."""

    def __init__(self, settings: VisualizationSettings, shape: tuple[int, int, int], generators, device):
        self.settings = settings
        c, self.h, self.w = shape
        self.c_img = _image_channels(settings, c)
        if settings.parameterization == "pixel":
            per = (self.c_img, self.h, self.w)
        else:
            per = (2, self.c_img, self.h, self.w // 2 + 1)
            freqs = _fft_freqs(self.h, self.w)
            scale = 1.0 / np.maximum(freqs, 1.0 / max(self.w, self.h)) * np.sqrt(self.w * self.h)
            self.spectrum_scale = torch.as_tensor(scale, dtype=torch.float32, device=device)
        init = torch.stack([torch.randn(per, generator=g) * settings.init_sd for g in generators])
        self.param = init.to(device).requires_grad_(True)
        self.color = torch.as_tensor(_COLOR_NORMALIZED, device=device)

    def images(self) -> torch.Tensor:
        """``(B, c_img, H, W)`` images in ``[0, 1]``."""
        if self.settings.parameterization == "pixel":
            return torch.sigmoid(self.param)
        spectrum = torch.complex(self.param[:, 0], self.param[:, 1]) * self.spectrum_scale
        t = torch.fft.irfft2(spectrum, s=(self.h, self.w)) / 4.0
        if self.c_img == 3:
            t = torch.einsum("bchw,dc->bdhw", t, self.color)
        return torch.sigmoid(t)


def _draw_transforms(settings: VisualizationSettings, generators, size: int) -> torch.Tensor | None:
    """Per image and step ``(dx, dy, scale, angle)``: ``(B, steps, 4)``, from each image's generator."""
    if settings.transforms == "none":
        return None
    out = []
    for g in generators:
        if settings.transforms == "jitter-scale":
            shift = torch.randint(-settings.jitter, settings.jitter + 1, (settings.steps, 2), generator=g).float()
            scale = torch.tensor(_SCALES)[torch.randint(len(_SCALES), (settings.steps,), generator=g)]
            angle = torch.zeros(settings.steps)
        else:
            shift = (torch.randint(-8, 9, (settings.steps, 2), generator=g) + torch.randint(-4, 5, (settings.steps, 2), generator=g)).float()
            scale = torch.tensor(_SCALES)[torch.randint(len(_SCALES), (settings.steps,), generator=g)]
            angle = torch.tensor(_ROTATIONS, dtype=torch.float32)[torch.randint(len(_ROTATIONS), (settings.steps,), generator=g)]
        out.append(torch.cat([shift, scale[:, None], angle[:, None]], dim=1))
    return torch.stack(out)


def _transform(images: torch.Tensor, params: torch.Tensor, fill: float) -> torch.Tensor:
    """Random similarity transforms ``params`` ``(B, 4)`` = (dx, dy, scale, degrees) keeping the image size."""
    b, _, h, w = images.shape
    dx, dy, s, deg = params.unbind(dim=1)
    rad = deg * (math.pi / 180.0)
    cos, sin = torch.cos(rad) / s, torch.sin(rad) / s
    theta = torch.stack([
        torch.stack([cos, -sin, -2 * dx / w], dim=1),
        torch.stack([sin, cos, -2 * dy / h], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, (b, images.shape[1], h, w), align_corners=False)
    return F.grid_sample(images - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


def _network_view(images: torch.Tensor, net_channels: int) -> torch.Tensor:
    """What the network reads: colour images averaged to grey for a one-channel network (its 3-channel copy)."""
    if images.shape[1] == net_channels:
        return images
    if net_channels == 1:
        return images.mean(dim=1, keepdim=True)
    raise ValueError(f"cannot feed {images.shape[1]}-channel images to a network with {net_channels} input channels")


def _unit_values(pre: torch.Tensor, objective: str) -> torch.Tensor:
    """``(B, units)`` per-unit objective terms of pre-ReLU activations ``(B, units[, H, W])``."""
    if pre.ndim == 2:
        return pre.abs()
    if objective == "l1":
        return pre.abs().sum(dim=(2, 3))
    return pre.mean(dim=(2, 3)).abs()


def visualize_subclusters(
    model: nn.Sequential,
    layer: UnitLayer,
    unit_masks,
    seeds,
    settings: VisualizationSettings,
    input_shape: tuple[int, int, int],
    device="cpu",
    fill: float | None = None,
    max_batch: int | None = None,
) -> dict[str, np.ndarray]:
    """Optimise one image per row of ``unit_masks`` ``(B, units)`` (True = unit in the subcluster).

    ``seeds[b]`` seeds image ``b``. ``input_shape`` is the network's image
    input ``(C, H, W)``. Returns ``images`` ``(B, c_img, H, W)`` float32 in
    ``[0, 1]``, ``score`` (the objective on the final, untransformed image),
    ``softmax_entropy`` (nats) and ``predicted_class``. ``max_batch`` splits
    the images into several batches (the results do not depend on it).
    """
    if len(input_shape) != 3:
        raise ValueError(f"feature visualisation needs image inputs (C, H, W); this network reads {tuple(input_shape)}")
    masks = torch.as_tensor(np.asarray(unit_masks), dtype=torch.bool)
    seeds = [int(s) for s in np.asarray(seeds).ravel()]
    if masks.ndim != 2 or masks.shape[1] != layer.size or masks.shape[0] != len(seeds):
        raise ValueError(f"unit_masks must be (n_images, {layer.size}) with one seed per image; got {tuple(masks.shape)} and {len(seeds)} seeds")
    fill = (0.5 if settings.transforms == "lucid-standard" else 0.0) if fill is None else fill
    step = len(seeds) if not max_batch else int(max_batch)
    parts = [
        _visualize_batch(model, layer, masks[s:s + step], seeds[s:s + step], settings, tuple(input_shape), torch.device(device), fill)
        for s in range(0, len(seeds), step)
    ]
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _visualize_batch(model, layer, masks, seeds, settings, input_shape, device, fill) -> dict[str, np.ndarray]:
    model = model.to(device).eval()
    prefix = list(model.children())[: layer.module_index + 1]
    for p in model.parameters():
        p.requires_grad_(False)
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    images = _Images(settings, input_shape, generators, device)
    transforms = _draw_transforms(settings, generators, input_shape[1])
    weights = masks.to(device).float()
    optimizer = torch.optim.Adam([images.param], lr=settings.lr)

    def objective(x: torch.Tensor) -> torch.Tensor:
        h = _network_view(x, input_shape[0])
        for m in prefix:
            h = m(h)
        return (_unit_values(h, settings.objective) * weights).sum(dim=1)

    for t in range(settings.steps):
        optimizer.zero_grad(set_to_none=True)
        x = images.images()
        if transforms is not None:
            x = _transform(x, transforms[:, t].to(device), fill)
        (-objective(x).sum()).backward()
        optimizer.step()
    with torch.no_grad():
        final = images.images()
        score = objective(final)
        probs = torch.softmax(model(_network_view(final, input_shape[0])), dim=1)
        entropy = -(probs * torch.log(probs.clamp_min(1e-30))).sum(dim=1)
    return {
        "images": final.cpu().numpy().astype(np.float32),
        "score": score.double().cpu().numpy(),
        "softmax_entropy": entropy.double().cpu().numpy(),
        "predicted_class": probs.argmax(dim=1).cpu().numpy(),
    }
