"""The seed's small CNN, with its two defects fixed: fc2 exists and forward returns logits."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mnist_tui.pooling import max_pool2x2

# On the CPU, conv1 → pool → relu runs over at most this many images at a time: its output
# (24×24×10 per image) is the largest tensor of a step, and the pool's elementwise passes
# over it run from the cache for 256 images (2.9 MB in bf16) rather than from memory for
# 1024 (11.8 MB). Measured on 2 AMD EPYC cores, batch 1024: 4-5 % more samples a second
# (53.0k → 55.3k, 5 interleaved rounds); chunks of 128 gained no more. Each image is computed
# alone either way, so the outputs are the same.
CONV1_CHUNK = 256


class Net(nn.Module):
    """conv(1→10,k5) → pool → relu → conv(10→20,k5) → dropout2d → pool → relu → fc(320→50) → fc(50→10).

    ``forward`` returns logits: the loss is cross-entropy on logits and probabilities are a
    softmax taken by whoever wants them (the seed applied softmax before the loss).
    """

    def __init__(self, conv_dropout: float = 0.5, fc_dropout: float = 0.5) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(conv_dropout)
        self.fc1 = nn.Linear(320, 50)
        self.fc_drop = nn.Dropout(fc_dropout)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x: torch.Tensor, dropout_masks: DropoutMasks | None = None) -> torch.Tensor:
        # The seed's order with conv2_drop moved after its pool: dropout2d scales whole channels
        # by 0 or 1/(1-p) ≥ 0, which commutes with max exactly (bf16 rounding is monotone), and
        # draws the same (B, 20, 1, 1) mask, so outputs, gradients and the RNG are unchanged
        # while the multiply touches a quarter of the values. max_pool2x2 is F.max_pool2d(x, 2),
        # faster on the trainer's channels-last tensors (mnist_tui.pooling).
        if x.device.type == "cpu" and len(x) > CONV1_CHUNK:
            x = torch.cat([self._conv1_block(part) for part in x.split(CONV1_CHUNK)])
        else:
            x = self._conv1_block(x)
        conv_mask, fc_mask = dropout_masks or (None, None)
        x = max_pool2x2(self.conv2(x))
        x = F.relu(self.conv2_drop(x) if dropout_masks is None else _masked(x, conv_mask))
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        x = self.fc_drop(x) if dropout_masks is None else _masked(x, fc_mask)
        return self.fc2(x)

    def dropout_masks(self, batch: int, dtype: torch.dtype) -> DropoutMasks:
        """The masks ``forward`` would draw for a batch of ``batch`` (conv2's (B, 20, 1, 1), fc1's
        (B, 50)), drawn now: the same calls on the same generator as torch's CPU dropout makes
        (noise ``bernoulli_(1 - p)``, then ``div_(1 - p)``; none where it draws none), so a step
        that hands each half of a batch its rows of these masks draws what one whole forward would.
        ``dtype``: the activations' (bf16 under autocast)."""
        device = self.fc1.weight.device
        return (
            _noise(self.conv2_drop, (batch, self.conv2.out_channels, 1, 1), dtype, device),
            _noise(self.fc_drop, (batch, self.fc1.out_features), dtype, device),
        )

    def _conv1_block(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(max_pool2x2(self.conv1(x)))


DropoutMasks = tuple[torch.Tensor | None, torch.Tensor | None]  # None: that dropout leaves its input as it is


def _noise(dropout: nn.Module, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor | None:
    p = dropout.p
    if not dropout.training or p == 0:
        return None
    if p == 1:
        return torch.zeros(shape, dtype=dtype, device=device)
    return torch.empty(shape, dtype=dtype, device=device).bernoulli_(1 - p).div_(1 - p)


def _masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return x if mask is None else x * mask


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def shaped_net(**kwargs) -> Net:
    """A :class:`Net` on the meta device: its shapes, no values. ``Net()`` on the CPU draws its
    initial weights from torch's global generator, which a CPU run's dropout shares: a dashboard
    that built one at each epoch's end (for drawing) trained differently from ``--headless``
    with the same seed. :func:`net_holding` gives it weights."""
    with torch.device("meta"):
        return Net(**kwargs)


def net_holding(state: dict[str, torch.Tensor], **kwargs) -> Net:
    """A :class:`Net` in eval mode whose weights are ``state``'s tensors themselves (the caller
    copies them first where it must), built without drawing from any random generator."""
    net = shaped_net(**kwargs)
    # float32, as the net is built: assigned as they were, a checkpoint's float64 weights failed
    # in the replay's first forward ("Input type (torch.FloatTensor) and weight type ... Double")
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    net.load_state_dict(state, assign=True)
    return net.eval()
