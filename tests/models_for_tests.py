"""Small user models the tests compile (defined in a module, as a user's would be)."""

import torch
from torch import nn


class ConvSortConv(nn.Module):
    """A conv model with torch.sort in the middle: the sort falls back to the CPU,
    splitting the NPU work into two partitions."""

    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.tail = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        x = torch.relu(self.head(x))
        x, _ = torch.sort(x, dim=-1)
        return self.tail(x)


class TinyConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.relu(self.conv(x))


class DataDependent(nn.Module):
    """An `if` on a tensor's value: torch.export cannot capture it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.conv(x)
        return -self.conv(x)


class Raises(nn.Module):
    def forward(self, x):
        raise RuntimeError("this model is broken on purpose")


def example():
    return (torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1)),)


class PoolHead(nn.Module):
    """A small CNN whose head averages over H,W with `mean` (pool='mean') or with
    adaptive_avg_pool2d (pool='adaptive'): the hotspot hint's before/after."""

    def __init__(self, pool: str = "mean"):
        super().__init__()
        self.pool = pool
        self.features = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU(),
                                      nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU())
        self.classifier = nn.Linear(64, 10)

    def forward(self, x):
        x = self.features(x)
        x = x.mean((2, 3)) if self.pool == "mean" else torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


def image(size=64):
    return (torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(2)),)
