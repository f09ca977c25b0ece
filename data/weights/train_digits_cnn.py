"""Train labkit's digits_cnn and write data/weights/digits_cnn.pt (seeded, CPU, seconds).

Run:  python data/weights/train_digits_cnn.py
The architecture and the train/held-out split are in labkit/models/digits.py; this
script only trains. The seed fixes the split, the initial weights and the batch
order; the weights themselves can differ in their last bits from one CPU to
another (float kernels differ), the model's quality does not (tests check the
held-out accuracy).
"""

from __future__ import annotations

import torch

from labkit.models import digits

SEED = 0
EPOCHS = 40
BATCH = 32
LR = 3e-3


def train() -> torch.nn.Module:
    """Train from scratch (seeded, one thread, deterministic kernels)."""
    return deterministic(_train)


def deterministic(fn):
    """``fn()`` on one thread with deterministic kernels and seeded RNGs, so the result is
    the same run to run on one machine (the process-wide torch settings are restored)."""
    threads, was_deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(SEED)
            return fn()
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(was_deterministic)


def fit(model, split, *, epochs: int, batch: int, opt, sched=None, step_per_batch=None, max_shift: int = 1,
        label_smoothing: float = 0.0, name: str = "model") -> torch.nn.Module:
    """Train ``model`` on ``split`` (x_train, y_train, x_test, y_test): seeded batch order, every other
    epoch shifted by up to ``max_shift`` pixels (so the model does not lean on exact positions); the
    scheduler steps per epoch (``sched``) or per batch (``step_per_batch``). Prints the accuracies."""
    x_train, y_train, x_test, y_test = split
    g = torch.Generator().manual_seed(SEED)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=g)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            x = x_train[idx]
            if epoch % 2:
                dy, dx = torch.randint(-max_shift, max_shift + 1, (2,), generator=g).tolist()
                x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
            loss = torch.nn.functional.cross_entropy(model(x), y_train[idx], label_smoothing=label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step_per_batch is not None:
                step_per_batch.step()
        if sched is not None:
            sched.step()
    model.eval()
    with torch.no_grad():
        train_acc = (model(x_train).argmax(1) == y_train).float().mean().item()
        test_acc = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"{name}: train accuracy {train_acc:.4f}, held-out accuracy {test_acc:.4f}")
    return model


def _train() -> torch.nn.Module:
    model = digits.network()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    return fit(model, digits.split(), epochs=EPOCHS, batch=BATCH, opt=opt,
               sched=torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS), name="digits_cnn")


if __name__ == "__main__":
    trained = train()
    torch.save(trained.state_dict(), digits.WEIGHTS)
    print(f"wrote {digits.WEIGHTS}")
