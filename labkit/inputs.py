"""The inputs a user passes (example, calibration, evaluation and run-time inputs) in
every form ``torch.export`` takes: the positional arguments of ``forward()``, each a
tensor or a nested tuple, list or dict of tensors (a pytree), of any dtype (token ids
and masks stay integer and bool).

A compiled program takes the leaves, flattened in torch's pytree order (what
``torch.export`` gives its placeholders and ExecuTorch records in the .pte)."""

from __future__ import annotations

from .errors import ExampleInputError, InputValueError

EXAMPLE_HINT = ("Pass a tensor, or a tuple with one entry per argument of forward(); an entry may be a tensor "
                "or a tuple, list or dict of tensors, e.g. (torch.randn(1, 3, 32, 32),) or "
                "(x, (h, c)) for forward(self, x, state).")


def as_args(inputs, what: str = "inputs", error=ExampleInputError) -> tuple:
    """The positional arguments of forward(): a tensor as a one-tuple, a tuple or list as
    its entries; every leaf a tensor, else one clear ``error`` that names where it is not."""
    import torch

    if isinstance(inputs, torch.Tensor):
        return (inputs,)
    if isinstance(inputs, dict):
        raise error(f"{what} is a dict, but labkit passes forward()'s arguments by position. For "
                    "forward(self, batch) with a dict argument, pass a tuple holding the dict: (batch,).")
    if not isinstance(inputs, (tuple, list)) or not inputs:
        got = f"an empty {type(inputs).__name__}" if isinstance(inputs, (tuple, list)) else type(inputs).__name__
        raise error(f"{what} must be a tensor or a tuple of forward()'s arguments, got {got}. " + EXAMPLE_HINT)
    args = tuple(inputs)
    for path, leaf in _leaves_with_paths(args):
        if not isinstance(leaf, torch.Tensor):
            raise error(f"{what}{path} is {type(leaf).__name__} {_short(leaf)}, not a tensor: every input of a "
                        "compiled model is a tensor. Make it a tensor (torch.tensor(...)), or make it a constant "
                        "of the model instead of an argument. " + EXAMPLE_HINT)
    return args


def leaves(args) -> list:
    """The tensors of ``args`` in the order a compiled program takes them."""
    from torch.utils import _pytree as pytree

    return pytree.tree_leaves(args)


def structure(args):
    """The pytree spec of ``args`` as the exported program records its inputs: (args, kwargs)."""
    from torch.utils import _pytree as pytree

    return pytree.tree_structure((tuple(args), {}))


def map_leaves(fn, args):
    from torch.utils import _pytree as pytree

    return pytree.tree_map(fn, args)


def describe(args) -> str:
    """'(1, 40, 49) float32, ((1, 1, 20) float32, (1, 1, 20) float32)': shapes and dtypes, nested as given."""
    import torch

    def text(v) -> str:
        if isinstance(v, torch.Tensor):
            return f"{tuple(v.shape)} {str(v.dtype).replace('torch.', '')}"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k!r}: {text(x)}" for k, x in v.items()) + "}"
        if isinstance(v, (tuple, list)):
            inner = ", ".join(text(x) for x in v)
            return f"[{inner}]" if isinstance(v, list) else f"({inner})"
        return v if isinstance(v, str) else type(v).__name__

    return ", ".join(text(a) for a in args)


def check_finite(args, what: str = "input") -> None:
    """One InputValueError for NaN or infinity: int8 has neither."""
    import torch

    for path, t in _leaves_with_paths(tuple(args)):
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            nan, inf = int(torch.isnan(t).sum()), int(torch.isinf(t).sum())
            raise InputValueError(
                f"{what}{path} contains {nan} NaN and {inf} infinite value(s) (of {t.numel()}). int8 has no NaN "
                "or infinity: quantizing them gives meaningless values on the NPU. Clean the data first, e.g. "
                "torch.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), or drop those samples.")


def run_inputs(inputs) -> tuple:
    """Inputs to run a compiled program on: forward()'s arguments, tensors, finite."""
    if isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        inputs = tuple(inputs[0])
    args = as_args(inputs, "inputs", InputValueError)
    check_finite(args)
    return args


def random_like(example: tuple, generator) -> tuple:
    """A seeded sample shaped like ``example``, each input keeping its dtype and staying in
    the range the example shows (what the model was calibrated on when it had no other
    samples): floats and integers (token ids, class indices) uniform between the example's
    smallest and largest value, so every id is one the model takes; an input that is one
    value throughout (a zero initial state) and bool masks as in the example (a random
    mask can hide every position)."""
    import torch

    def draw(t):
        if t.dtype == torch.bool or t.numel() == 0 or bool((t == t.reshape(-1)[0]).all()):
            return t.clone()
        low, high = t.min(), t.max()
        if t.is_floating_point():
            return (low + (high - low) * torch.rand(t.shape, generator=generator)).to(t.dtype)
        return torch.randint(int(low), int(high) + 1, tuple(t.shape), generator=generator, dtype=t.dtype)

    return map_leaves(draw, tuple(example))


def batch_size(args) -> int | None:
    """The leading dimension shared by every input, else None."""
    sizes = {t.shape[0] if t.dim() else None for t in leaves(args)}
    return next(iter(sizes)) if len(sizes) == 1 else None


def split_batch(args, example) -> list[tuple] | None:
    """``args`` as N samples of ``example``'s shape when it stacks N of them along the first
    dimension of every input (``example`` has batch 1); None when it does not."""
    from torch.utils import _pytree as pytree

    got, want = pytree.tree_flatten(tuple(args)), pytree.tree_flatten(tuple(example))
    if got[1] != want[1]:
        return None
    n = batch_size(args)
    if n is None or not all(e.dim() and e.shape[0] == 1 and t.shape[1:] == e.shape[1:]
                            for t, e in zip(got[0], want[0])):
        return None
    return unstack(args, n)


def unstack(args, n: int) -> list[tuple]:
    """The N samples of inputs stacked along the first dimension, each of batch 1."""
    return [map_leaves(lambda t, i=i: t[i:i + 1], tuple(args)) for i in range(n)]


def check_like(sample, example, what: str = "data") -> None:
    """One InputValueError unless ``sample`` has ``example``'s nesting, shapes and dtypes."""
    from torch.utils import _pytree as pytree

    (got, got_spec), (want, want_spec) = pytree.tree_flatten(tuple(sample)), pytree.tree_flatten(tuple(example))
    same = got_spec == want_spec and all(tuple(t.shape) == tuple(e.shape) and t.dtype == e.dtype
                                         for t, e in zip(got, want))
    if not same:
        raise InputValueError(f"{what} has samples of {describe(sample)} but the model takes {describe(example)}: "
                              "pass samples of those shapes and dtypes (or N of them stacked along the first "
                              "dimension), with labels as (inputs, labels).")


def first_samples(data, n: int):
    """The first ``n`` samples of evaluation inputs: of a list of samples, or of inputs
    stacked along the first dimension (a tensor, or forward()'s arguments)."""
    if isinstance(data, list):
        return data[:n]
    return map_leaves(lambda t: t[:n], data)


def same_samples(a: list, b: list) -> bool:
    import torch

    def same(x, y):
        lx, ly = leaves(x), leaves(y)
        return len(lx) == len(ly) and all(s.dtype == t.dtype and torch.equal(s, t) for s, t in zip(lx, ly))

    return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))


def hash_into(h, args) -> None:
    """Update hashlib ``h`` with the shapes, dtypes, layouts, values and nesting of ``args``."""
    h.update(repr(structure(args)).encode())
    for t in leaves(args):
        # The layout too: a channels-last example input compiles to a program without the NPU's input transpose.
        h.update(repr((tuple(t.shape), str(t.dtype), t.stride())).encode())
        h.update(t.detach().contiguous().cpu().numpy().tobytes())


def _leaves_with_paths(args):
    """(path like "[1][0]" or "[0]['mask']", leaf) for each leaf of nested tuples, lists and dicts."""
    from torch.utils import _pytree as pytree

    return [(pytree.keystr(path), leaf) for path, leaf in pytree.tree_flatten_with_path(args)[0]]


def _short(value) -> str:
    text = repr(value)
    return f"({text[:40]}…)" if len(text) > 40 else f"({text})"
