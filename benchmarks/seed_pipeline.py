"""The seed's training pipeline, kept here only to be measured against.

torchvision's MNIST with a per-sample ``ToTensor`` + ``Normalize`` transform, a
``DataLoader`` (batch 100, shuffled, one worker), the same CNN with dropout 0.5, Adam
at lr 1e-3, cross-entropy, fp32 and the default memory layout: what the seed did, with
its two model bugs fixed so that both pipelines train the very same network.

Run by ``throughput.py`` in a child process (so its memory and threads are its own);
prints one JSON line. Each pass is a full epoch over the first ``--samples`` images,
DataLoader start-up included, as the seed paid it every epoch. Pass 1 is a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def seed_net(conv_dropout: float = 0.5, fc_dropout: float = 0.5):
    """The seed's network as the seed ran it: dropout2d on conv2's output before its pool and
    torch's own ``max_pool2d``, with the seed's two defects fixed (fc2 exists, logits out).

    Not ``mnist_tui.model.Net``: that one has the project's speed-ups (the dropout after the
    pool, a faster pool, chunks), and the seed is measured as it was, not as it would be with them.
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SeedNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = nn.Dropout2d(conv_dropout)
            self.fc1 = nn.Linear(320, 50)
            self.fc2 = nn.Linear(50, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 320)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, fc_dropout, training=self.training)
            return self.fc2(x)

    return SeedNet()


def measure(data_dir: Path, samples: int, repeats: int, batch_size: int = 100) -> dict:
    import torch
    from torch.nn import functional as F
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    torch.manual_seed(0)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = datasets.MNIST(str(data_dir), train=True, download=False, transform=transform)
    loader = DataLoader(Subset(train, range(samples)), batch_size=batch_size, shuffle=True, num_workers=1)
    model = seed_net(0.5, 0.5)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rates = []
    for _ in range(1 + repeats):
        model.train()
        started = time.perf_counter()
        for batch, (data, target) in enumerate(loader):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            optimizer.step()
            if batch % 10 == 0:  # the seed logged every 10 batches
                loss.item()
        rates.append(samples / (time.perf_counter() - started))
    timed = rates[1:]
    return {
        "samples_per_s": statistics.median(timed),
        "runs": [round(r, 1) for r in timed],
        "warmup": round(rates[0], 1),
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.data_dir, args.samples, args.repeats)))


if __name__ == "__main__":
    main()
