"""Train digits_mobilenet or digits_vit and write labkit/data/<model>.pt (seeded, CPU).

Run:  python -m labkit.data.train_digits32 digits_mobilenet
      python -m labkit.data.train_digits32 digits_vit
The architectures and the 32x32 split are in labkit/models/digits32.py; this
script only trains. As for digits_cnn, the seed fixes the split, the initial
weights and the batch order, and the weights can differ in their last bits from
one CPU to another; the held-out accuracy is what the tests check.
"""

from __future__ import annotations

import argparse

import torch

from labkit.models import digits32

SEED = 0
SETTINGS = {  # epochs, batch, learning rate, weight decay
    "digits_mobilenet": (30, 32, 3e-3, 1e-4),
    "digits_vit": (60, 32, 1e-3, 5e-2),
}


def train(name: str) -> torch.nn.Module:
    """Train from scratch on one thread with deterministic kernels (the process-wide
    torch settings are restored afterwards)."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(SEED)
            return _train(name)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _train(name: str) -> torch.nn.Module:
    epochs, batch, lr, decay = SETTINGS[name]
    x_train, y_train, x_test, y_test = digits32.split()
    model = digits32.NETWORKS[name]()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * -(-len(x_train) // batch))
    g = torch.Generator().manual_seed(SEED)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=g)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            x = x_train[idx]
            if epoch % 2:  # light augmentation: shift by up to 2 pixels
                dy, dx = torch.randint(-2, 3, (2,), generator=g).tolist()
                x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
            loss = torch.nn.functional.cross_entropy(model(x), y_train[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        train_acc = (model(x_train).argmax(1) == y_train).float().mean().item()
        test_acc = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"{name}: train accuracy {train_acc:.4f}, held-out accuracy {test_acc:.4f}")
    return model


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", choices=sorted(SETTINGS))
    name = ap.parse_args().model
    trained = train(name)
    torch.save(trained.state_dict(), digits32.weights_file(name))
    print(f"wrote {digits32.weights_file(name)}")
