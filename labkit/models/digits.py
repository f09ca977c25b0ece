"""digits_cnn: a tiny CNN trained on scikit-learn's bundled 8x8 handwritten digits.

A model that learned something real, small enough to train on a CPU in seconds
and to compile in a few: 1x8x8 input, two convolutions and a linear layer, ten
classes. Its trained weights are ``data/weights/digits_cnn.pt``, written by
``data/weights/train_digits_cnn.py`` (seeded). The data set ships with
scikit-learn (``sklearn.datasets.load_digits``), so nothing is downloaded.

The split is fixed: 20 % of the 1,797 images are held out (seeded, stratified)
and are the registry entry's evaluation data; calibration and training use the
other 80 %.
"""

from __future__ import annotations

from functools import lru_cache

from .. import shipped
from .spec import ModelSpec

WEIGHTS = shipped.data("weights", "digits_cnn.pt")
SPLIT_SEED = 0
TEST_FRACTION = 0.2
CALIBRATION_SAMPLES = 64
INPUT_SHAPE = (1, 1, 8, 8)


def network():
    """The architecture (random weights, seeded by the caller)."""
    import torch
    from torch import nn

    class DigitsCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
            self.relu = nn.ReLU()
            self.fc = nn.Linear(16 * 4 * 4, 10)

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            return self.fc(torch.flatten(x, 1))

    return DigitsCNN()


def build():
    """The trained model, in eval mode."""
    import torch

    model = network()
    model.load_state_dict(torch.load(WEIGHTS, weights_only=True))
    return model.eval()


def untrained(seed: int = 0):
    """The same architecture with seeded random weights (to compare with the trained one)."""
    import torch

    torch.manual_seed(seed)
    return network().eval()


@lru_cache(maxsize=1)
def _split():
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 8.0 - 1.0)[:, None]  # pixel values 0..16 -> [-1, 1]
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y)


def split():
    """(x_train, y_train, x_test, y_test) as torch tensors; x is N x 1 x 8 x 8 in [-1, 1]."""
    import torch

    x_train, x_test, y_train, y_test = _split()
    return (torch.from_numpy(x_train.copy()), torch.from_numpy(y_train.copy()),
            torch.from_numpy(x_test.copy()), torch.from_numpy(y_test.copy()))


class Samples:
    """A model's samples from a (x_train, y_train, x_test, y_test) split: its example
    input, its calibration inputs and its evaluation data (the digits models share it)."""

    def __init__(self, split):
        self.split = split

    def example_inputs(self, sample: int = 0) -> tuple:
        """One held-out digit, shaped 1 x 1 x H x W."""
        x_test = self.split()[2]
        return (x_test[sample:sample + 1],)

    def calibration_inputs(self, samples: int = CALIBRATION_SAMPLES) -> list:
        """The first ``samples`` training digits (at most all 1,437), one (1 x 1 x H x W,) tuple each."""
        x_train = self.split()[0]
        return [(x_train[i:i + 1],) for i in range(min(samples, len(x_train)))]

    def evaluation(self) -> tuple:
        """The held-out split: (inputs N x 1 x H x W, labels N)."""
        _, _, x_test, y_test = self.split()
        return x_test, y_test


_samples = Samples(split)
example_inputs, calibration_inputs, evaluation = _samples.example_inputs, _samples.calibration_inputs, \
    _samples.evaluation


def spec():

    return ModelSpec(
        "digits_cnn", build, example_inputs, calibration_inputs, evaluation,
        description="Handwritten digits (sklearn 8x8), small CNN with trained weights, 10 classes",
        weights="trained", input_shapes=(INPUT_SHAPE,), extra_files=(WEIGHTS,))
