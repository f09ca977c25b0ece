"""Train digits_mobilenet or digits_vit and write data/weights/<model>.pt (seeded, CPU).

Run:  python data/weights/train_digits32.py digits_mobilenet
      python data/weights/train_digits32.py digits_vit
The architectures and the 32x32 split are in labkit/models/digits32.py; this
script only trains. As for digits_cnn, the seed fixes the split, the initial
weights and the batch order, and the weights can differ in their last bits from
one CPU to another; the held-out accuracy is what the tests check.
"""

from __future__ import annotations

import argparse

import torch

from train_digits_cnn import deterministic, fit  # its sibling in data/weights/

from labkit.models import digits32

SETTINGS = {  # epochs, batch, learning rate, weight decay
    "digits_mobilenet": (30, 32, 3e-3, 1e-4),
    "digits_vit": (60, 32, 1e-3, 5e-2),
}


def train(name: str) -> torch.nn.Module:
    """Train from scratch (seeded, one thread, deterministic kernels)."""
    return deterministic(lambda: _train(name))


def _train(name: str) -> torch.nn.Module:
    epochs, batch, lr, decay = SETTINGS[name]
    split = digits32.split()
    model = digits32.NETWORKS[name]()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=decay)
    per_batch = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * -(-len(split[0]) // batch))
    return fit(model, split, epochs=epochs, batch=batch, opt=opt, step_per_batch=per_batch, max_shift=2,
               label_smoothing=0.05, name=name)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", choices=sorted(SETTINGS))
    name = ap.parse_args().model
    trained = train(name)
    torch.save(trained.state_dict(), digits32.weights_file(name))
    print(f"wrote {digits32.weights_file(name)}")
