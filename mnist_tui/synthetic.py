"""Built-in synthetic digits: the offline fallback, so the app runs with no data at all.

Digits 0–9 are drawn with the font Pillow ships, at a few stroke widths, then jittered
with random affine transforms (rotation, scale, shear, shift), fitted and centred like
MNIST in 28×28, and given a little noise. Everything follows from the seed.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch.nn import functional as F

from mnist_tui.data import Datasets

NAME = "synthetic digits"
TEMPLATE = 56  # templates are drawn at 2× and sampled down to 28×28
STROKES = (0, 1, 2, 3)


def _glyph(digit: int, stroke: int) -> np.ndarray:
    """One digit as float [0, 1] in a 56×56 frame: fitted into 40×40, centred by mass (as MNIST)."""
    font = ImageFont.load_default(size=72)
    canvas = Image.new("L", (128, 128), 0)
    ImageDraw.Draw(canvas).text((24, 8), str(digit), fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    glyph = canvas.crop(canvas.getbbox())
    scale = 40 / max(glyph.size)
    size = (max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale)))
    glyph = np.asarray(glyph.resize(size, Image.LANCZOS), dtype=np.float32) / 255.0
    frame = np.zeros((TEMPLATE, TEMPLATE), dtype=np.float32)
    ys, xs = np.indices(glyph.shape)
    mass = glyph.sum()
    cy, cx = (ys * glyph).sum() / mass, (xs * glyph).sum() / mass
    top = int(round(TEMPLATE / 2 - cy))
    left = int(round(TEMPLATE / 2 - cx))
    top = min(max(top, 0), TEMPLATE - glyph.shape[0])
    left = min(max(left, 0), TEMPLATE - glyph.shape[1])
    frame[top : top + glyph.shape[0], left : left + glyph.shape[1]] = glyph
    return frame


def _templates() -> torch.Tensor:
    """(10, len(STROKES), 56, 56) float templates."""
    return torch.tensor(np.stack([np.stack([_glyph(d, s) for s in STROKES]) for d in range(10)]))


def _random_affines(n: int, gen: torch.Generator) -> torch.Tensor:
    """(n, 2, 3) affine matrices for ``affine_grid``: rotation ±15°, scale 0.8–1.15, shear, shift."""

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=gen) * (high - low) + low

    angle = uniform(-15, 15) * torch.pi / 180
    scale = uniform(0.8, 1.15)
    shear = uniform(-0.25, 0.25)
    shift_x, shift_y = uniform(-0.08, 0.08), uniform(-0.08, 0.08)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin + shear * cos
    theta[:, 1, 0], theta[:, 1, 1] = sin, cos + shear * sin
    theta[:, 0, 2], theta[:, 1, 2] = shift_x, shift_y
    return theta


def _render(labels: torch.Tensor, templates: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n = len(labels)
    strokes = torch.randint(len(STROKES), (n,), generator=gen)
    source = templates[labels, strokes].unsqueeze(1)
    grid = F.affine_grid(_random_affines(n, gen), [n, 1, 28, 28], align_corners=False)
    images = F.grid_sample(source, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    images = images.squeeze(1) * (0.75 + 0.25 * torch.rand(n, 1, 1, generator=gen))
    noise = torch.rand(images.shape, generator=gen) * 0.15 * (torch.rand(images.shape, generator=gen) < 0.05)
    return ((images + noise).clamp(0, 1) * 255).round().to(torch.uint8)


def _balanced_labels(n: int, gen: torch.Generator) -> torch.Tensor:
    labels = torch.arange(n) % 10
    return labels[torch.randperm(n, generator=gen)]


def synthetic_digits(
    seed: int = 0, train_size: int = 20_000, test_size: int = 4_000, notice: str | None = None
) -> Datasets:
    """A balanced, deterministic digits set in MNIST's format (uint8 28×28, int64 labels)."""
    gen = torch.Generator().manual_seed(seed)
    templates = _templates()
    out = []
    for size in (train_size, test_size):
        labels = _balanced_labels(size, gen)
        chunks = [_render(labels[i : i + 4096], templates, gen) for i in range(0, size, 4096)]
        out.append((torch.cat(chunks), labels))
    (train_x, train_y), (test_x, test_y) = out
    return Datasets(NAME, train_x, train_y, test_x, test_y, notice)
