"""Tensors as an ExecuTorch program lays them out: dim orders and sizes."""

from __future__ import annotations

NHWC, NNHWC = [0, 2, 3, 1], [0, 1, 3, 4, 2]


def numel(sizes) -> int:
    n = 1
    for s in sizes:
        n *= int(s)
    return n


def from_dim_order_view(flat, sizes, dim_order):
    """Like from_dim_order, but a view of ``flat`` (writes go to its memory)."""
    if dim_order == sorted(dim_order):
        return flat.view(sizes)
    physical = flat.view([sizes[d] for d in dim_order])
    return physical.permute([dim_order.index(i) for i in range(len(dim_order))])


def from_dim_order(flat, sizes, dim_order):
    """A logical (e.g. NCHW) tensor from data laid out in ``dim_order``."""
    if dim_order == sorted(dim_order):
        return flat.reshape(sizes)
    physical = flat.reshape([sizes[d] for d in dim_order])
    inverse = [dim_order.index(i) for i in range(len(dim_order))]
    return physical.permute(inverse).contiguous()

