"""A hand-drawn digit made to look like an MNIST digit, and the model's guess at it (no Textual).

MNIST digits were size-normalised to fit a 20×20 box (aspect ratio kept, anti-aliased),
then placed in a 28×28 field so that their centre of mass sits at the field's centre.
A drawing that skips these steps (drawn small in a corner, or filling the whole canvas)
is far from anything the network has seen, so :func:`mnist_like` repeats them first.

The centre is (14, 14) in pixel-index coordinates: that is where real MNIST digits have
it (mean 13.99, 14.01 over the test set, with the ±0.5 spread of a whole-pixel shift).
"""

from __future__ import annotations

import numpy as np

SIZE = 28
BOX = 20
CENTRE = 14.0
INK_THRESHOLD = 0.05  # fainter pixels are brush halo, not part of the digit's extent


# The soft brush: full ink under the pointer, half on the four sides, a quarter on the corners
# (a stroke about 2–3 px wide after fitting, like MNIST's pen).
BRUSH = np.array([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], dtype=np.float32)


def brush_patch(grid: np.ndarray, row: int, col: int) -> tuple[tuple[slice, slice], np.ndarray]:
    """The part of ``grid`` the brush covers at (row, col) and the matching part of the brush."""
    h, w = grid.shape
    top, left = row - 1, col - 1
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + 3, h), min(left + 3, w)
    return (slice(r0, r1), slice(c0, c1)), BRUSH[r0 - top : r1 - top, c0 - left : c1 - left]


def paint(grid: np.ndarray, row: int, col: int, erase: bool = False) -> None:
    """Apply the soft brush in place: ink takes the maximum (no build-up). Erasing clears the brush's
    whole 3×3 footprint: scaled down by the brush's weights it cleared one pixel and halved its
    neighbours, so a stroke took three passes to go and left a faint halo the model still read."""
    if not (0 <= row < grid.shape[0] and 0 <= col < grid.shape[1]):
        return
    where, weights = brush_patch(grid, row, col)
    if erase:
        grid[where] = 0.0
    else:
        np.maximum(grid[where], weights, out=grid[where])


def line_cells(r0: int, c0: int, r1: int, c1: int) -> list[tuple[int, int]]:
    """Cells from (r0, c0) to (r1, c1), both included: a fast drag leaves no gaps."""
    steps = max(abs(r1 - r0), abs(c1 - c0))
    if steps == 0:
        return [(r0, c0)]
    return [(round(r0 + (r1 - r0) * i / steps), round(c0 + (c1 - c0) * i / steps)) for i in range(steps + 1)]


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of an image's intensity mass; the image's middle when it is empty."""
    mass = float(image.sum())
    if mass <= 0:
        return ((image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2)
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / mass), float((cols * image).sum() / mass)


def ink_bbox(image: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), inclusive, of pixels above ``threshold``; None when blank."""
    ink = image > threshold
    if not ink.any():
        return None
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Anti-aliased bilinear resize (area-weighted when shrinking)."""
    import torch
    from torch.nn import functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    resized = F.interpolate(tensor, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return resized[0, 0].clamp_(0, 1).numpy()


def mnist_like(grid: np.ndarray) -> np.ndarray | None:
    """A drawing (float [0, 1], 28×28 or finer, any aspect) → 28×28 float [0, 1] as MNIST made them.

    Crop to the ink, scale the longer side to 20 px, then shift by whole pixels so the centre
    of mass lands at (14, 14). The shift is clamped so no ink leaves the field (a lopsided
    stroke may then sit a little off centre). Returns None for an empty drawing.
    """
    grid = np.clip(np.asarray(grid, dtype=np.float32), 0, 1)
    box = ink_bbox(grid)
    if box is None:
        return None
    top, bottom, left, right = box
    glyph = grid[top : bottom + 1, left : right + 1]
    scale = BOX / max(glyph.shape)
    height = max(1, min(BOX, round(glyph.shape[0] * scale)))
    width = max(1, min(BOX, round(glyph.shape[1] * scale)))
    glyph = _resize(glyph, height, width)
    cy, cx = centre_of_mass(glyph)
    row = min(max(round(CENTRE - cy), 0), SIZE - height)
    col = min(max(round(CENTRE - cx), 0), SIZE - width)
    field = np.zeros((SIZE, SIZE), dtype=np.float32)
    field[row : row + height, col : col + width] = glyph
    return field


def to_model_input(image: np.ndarray):
    """A 28×28 float [0, 1] image → the normalised (1, 1, 28, 28) tensor the network takes, in
    MNIST's byte steps: the inside view's own input, so both screens read a drawing alike."""
    from mnist_tui.insight.activations import model_input

    return model_input(image)


def predict_probabilities(model, grid: np.ndarray) -> np.ndarray | None:
    """Softmax over the ten digits for a drawing (None when the drawing is empty).

    The model is put in eval mode: pass a copy, never a model another thread is training.
    """
    import torch

    image = mnist_like(grid)
    if image is None:
        return None
    model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        logits = model(to_model_input(image).to(device)).float()
        return torch.softmax(logits, dim=1)[0].cpu().numpy()
