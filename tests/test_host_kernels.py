"""The host runner's CPU kernels against ExecuTorch's own: each case is a small CPU-only
program (no partitioner) that labkit's Program and ExecuTorch's Python runtime (its
portable and quantized kernels) both run, and whose outputs must be equal.

Lowering costs about 0.7 s a program, nearly all of it fixed, so the cases are lowered
together as one program (about 10 s); when that program fails, each case is lowered and
run on its own, so the failure names the case."""

from dataclasses import dataclass

import pytest
import torch
import torch.ao.quantization.fx._decomposed  # noqa: F401  (the quantized_decomposed ops)
import torch.nn.functional as F
from torch import nn

from labkit.errors import SimulationError
from labkit.runtime.program import Program, _resolve_op

try:  # their out variants and ExecuTorch's kernels for them
    import executorch.kernels.quantized  # noqa: F401
except Exception:  # noqa: BLE001 - the quantized cases are then skipped
    pass


@dataclass
class Case:
    fn: object  # a function of the inputs, or an nn.Module
    inputs: tuple
    kernels: tuple  # ExecuTorch kernels the case runs, e.g. "aten::squeeze_copy.dims_out"


def _cases() -> dict:
    r, i = torch.randn, torch.randint

    def i8(*shape):  # int8 over its whole range
        return torch.randint(-128, 128, shape, dtype=torch.int8)

    q = torch.ops.quantized_decomposed
    mask = torch.rand(3, 4) > 0.5
    return {
        # shapes
        "squeeze dims list": Case(lambda x: x.squeeze([1, 3]), (r(2, 1, 3, 1),), ("aten::squeeze_copy.dims_out",)),
        "squeeze negative dim": Case(lambda x: x.squeeze(-2), (r(2, 1, 3),), ("aten::squeeze_copy.dims_out",)),
        "squeeze a dim of size 2": Case(lambda x: x.squeeze([0, 1]), (r(2, 1, 3),), ("aten::squeeze_copy.dims_out",)),
        "squeeze all": Case(lambda x: x.squeeze(), (r(1, 3, 1, 2),), ("aten::squeeze_copy.dims_out",)),
        "unsqueeze negative": Case(lambda x: x.unsqueeze(-2), (r(2, 3),), ("aten::unsqueeze_copy.out",)),
        "view": Case(lambda x: (x + 1).view(4, -1), (r(2, 3, 4),), ("aten::add.out",)),
        "reshape of a permute": Case(lambda x: x.permute(0, 2, 1).reshape(-1, 2), (r(2, 3, 4),),
                                     ("aten::permute_copy.out",)),
        "permute": Case(lambda x: x.permute(0, 2, 3, 1), (r(1, 2, 3, 4),), ("aten::permute_copy.out",)),
        "transpose": Case(lambda x: x.transpose(-1, 0), (r(2, 3, 4),), ("aten::permute_copy.out",)),
        "cat": Case(lambda x, y, z: torch.cat([x, y, z], dim=-1), (r(2, 3), r(2, 1), r(2, 4)), ("aten::cat.out",)),
        "stack": Case(lambda x, y: torch.stack([x, y], 1), (r(2, 3), r(2, 3)), ("aten::cat.out",)),
        "split sizes": Case(lambda x: torch.split(x, [1, 2, 3], dim=1), (r(2, 6),),
                            ("aten::split_with_sizes_copy.out",)),
        "chunk": Case(lambda x: x.chunk(2, dim=-1), (r(2, 3, 5),), ("aten::split_with_sizes_copy.out",)),
        "unbind": Case(lambda x: x.unbind(1), (r(2, 3, 4),), ("aten::select_copy.int_out",)),
        "slice with steps": Case(lambda x: x[:, 1::2, ::3], (r(2, 5, 7),), ("aten::slice_copy.Tensor_out",)),
        "slice negative": Case(lambda x: x[..., -4:-1], (r(2, 6),), ("aten::slice_copy.Tensor_out",)),
        "select": Case(lambda x: x[:, -2], (r(2, 3, 4),), ("aten::select_copy.int_out",)),
        "expand": Case(lambda x: x.expand(2, 3, 4), (r(3, 1),), ("aten::expand_copy.out",)),
        "repeat": Case(lambda x: x.repeat(2, 1, 3), (r(3, 2),), ("aten::repeat.out",)),
        "flip": Case(lambda x: x.flip([0, -1]), (r(2, 3, 4),), ("aten::flip.out",)),
        "constant pad": Case(lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), (r(1, 2, 3, 4),),
                             ("aten::constant_pad_nd.out",)),
        # indexing
        "index_select": Case(lambda x, idx: torch.index_select(x, 1, idx), (r(2, 5), torch.tensor([4, 0, 2, 2])),
                             ("aten::index_select.out",)),
        "index a dim": Case(lambda x, idx: x[:, idx], (r(2, 5, 3), torch.tensor([3, 0, 4])),
                            ("aten::index.Tensor_out",)),
        "embedding int64 ids": Case(nn.Embedding(10, 4), (torch.tensor([[1, 9, 0], [3, 3, 7]]),),
                                    ("aten::embedding.out",)),
        "gather": Case(lambda x, idx: torch.gather(x, 1, idx), (r(3, 4), i(0, 4, (3, 2))), ("aten::gather.out",)),
        "where bool mask": Case(lambda m, x, y: torch.where(m, x, y), (mask, r(3, 4), r(3, 4)),
                                ("aten::where.self_out",)),
        "masked_fill": Case(lambda x, m: x.masked_fill(m, -1.5), (r(3, 4), mask),
                            ("aten::scalar_tensor.out", "aten::where.self_out")),
        "masked_fill float64": Case(lambda x, m: x.masked_fill(m, 0.1), (r(3, 4, dtype=torch.float64), mask),
                                    ("aten::scalar_tensor.out", "aten::where.self_out")),
        # reductions
        "mean keepdim": Case(lambda x: x.mean([-1, -2], keepdim=True), (r(2, 3, 4, 5),), ("aten::mean.out",)),
        "mean no keepdim": Case(lambda x: x.mean(1), (r(2, 3, 4),), ("aten::mean.out",)),
        "sum dims": Case(lambda x: x.sum([0, 2], keepdim=True), (r(2, 3, 4),), ("aten::sum.IntList_out",)),
        "sum int to float": Case(lambda x: x.sum(-1, dtype=torch.float32), (i(-9, 9, (3, 4), dtype=torch.int32),),
                                 ("aten::sum.IntList_out",)),
        "amax": Case(lambda x: x.amax((1, 2)), (r(2, 3, 4),), ("aten::amax.out",)),
        "amin keepdim": Case(lambda x: x.amin(-1, keepdim=True), (r(2, 3, 4),), ("aten::amin.out",)),
        "max dim": Case(lambda x: x.max(dim=1), (r(3, 5),), ("aten::max.dim_max",)),
        "min dim keepdim": Case(lambda x: x.min(dim=0, keepdim=True), (r(3, 5),), ("aten::min.dim_min",)),
        "argmax": Case(lambda x: x.argmax(dim=1, keepdim=True), (r(3, 5),), ("aten::argmax.out",)),
        "argmin": Case(lambda x: x.argmin(dim=-1), (r(3, 5),), ("aten::argmin.out",)),
        "var": Case(lambda x: x.var(1, keepdim=True), (r(3, 5),), ("aten::var.correction_out",)),
        "prod": Case(lambda x: x.prod(1), (r(3, 4),), ("aten::prod.int_out",)),
        "any dim": Case(lambda x: (x > 1).any(1), (r(3, 4),), ("aten::any.out",)),
        "cumsum": Case(lambda x: x.cumsum(1), (r(2, 5),), ("aten::cumsum.out",)),
        "topk": Case(lambda x: torch.topk(x, 3, dim=-1), (r(2, 6),), ("aten::topk.values",)),
        "topk smallest": Case(lambda x: torch.topk(x, 2, dim=0, largest=False), (r(4, 3),), ("aten::topk.values",)),
        "sort": Case(lambda x: torch.sort(x, dim=1, descending=True), (r(3, 5),), ("aten::sort.values",)),
        "softmax": Case(lambda x: x.softmax(-1), (r(2, 5),), ("aten::_softmax.out",)),
        "log_softmax": Case(lambda x: x.log_softmax(1), (r(2, 5, 3),), ("aten::_log_softmax.out",)),
        # elementwise
        "add alpha": Case(lambda x, y: torch.add(x, y, alpha=2), (r(2, 3), r(3)), ("aten::add.out",)),
        "sub": Case(lambda x, y: x - y, (r(2, 3), r(2, 3)), ("aten::sub.out",)),
        "mul": Case(lambda x, y: x * y, (r(2, 3), r(2, 1)), ("aten::mul.out",)),
        "div": Case(lambda x, y: x / y, (r(2, 3), r(2, 3)), ("aten::div.out",)),
        "div floor": Case(lambda x, y: torch.div(x, y, rounding_mode="floor"), (r(2, 3) * 5, r(2, 3)),
                          ("aten::div.out_mode",)),
        "maximum": Case(torch.maximum, (r(2, 3), r(2, 3)), ("aten::maximum.out",)),
        "greater than": Case(lambda x, y: x > y, (r(2, 3), r(2, 3)), ("aten::gt.Tensor_out",)),
        "clamp": Case(lambda x: x.clamp(-0.5, 0.5), (r(2, 8),), ("aten::clamp.out",)),
        "clamp min": Case(lambda x: x.clamp(min=0.2), (r(2, 8),), ("aten::clamp.out",)),
        "relu": Case(F.relu, (r(2, 8),), ("aten::relu.out",)),
        "relu6": Case(F.relu6, (r(2, 8) * 4,), ("aten::hardtanh.out",)),
        "leaky_relu": Case(lambda x: F.leaky_relu(x, 0.1), (r(2, 8),), ("aten::leaky_relu.out",)),
        "hardswish": Case(F.hardswish, (r(2, 8) * 4,), ("aten::clamp.out",)),
        "hardsigmoid": Case(F.hardsigmoid, (r(2, 8) * 4,), ("aten::clamp.out",)),
        "gelu": Case(F.gelu, (r(2, 8),), ("aten::gelu.out",)),
        "gelu tanh": Case(lambda x: F.gelu(x, approximate="tanh"), (r(2, 8),), ("aten::gelu.out",)),
        "sigmoid": Case(torch.sigmoid, (r(2, 8),), ("aten::sigmoid.out",)),
        "tanh": Case(torch.tanh, (r(2, 8),), ("aten::tanh.out",)),
        "pow scalar": Case(lambda x: x.pow(3), (r(2, 8),), ("aten::pow.Tensor_Scalar_out",)),
        "pow tensor": Case(lambda x, y: x.abs().pow(y), (r(2, 8), r(2, 8)), ("aten::pow.Tensor_Tensor_out",)),
        "rsqrt": Case(lambda x: (x.abs() + 0.1).rsqrt(), (r(2, 8),), ("aten::rsqrt.out",)),
        # linear algebra, convolutions, pools
        "bmm": Case(torch.bmm, (r(2, 3, 4), r(2, 4, 5)), ("aten::bmm.out",)),
        "matmul 2d": Case(torch.matmul, (r(3, 4), r(4, 5)), ("aten::mm.out",)),
        "matmul broadcast": Case(torch.matmul, (r(2, 1, 3, 4), r(3, 4, 2)), ("aten::bmm.out",)),
        "linear": Case(nn.Linear(4, 3), (r(2, 5, 4),), ("aten::linear.out",)),
        "linear no bias": Case(nn.Linear(4, 3, bias=False), (r(2, 4),), ("aten::linear.out",)),
        "addmm": Case(lambda b, x, w: torch.addmm(b, x, w, beta=0.5, alpha=2), (r(3), r(2, 4), r(4, 3)),
                      ("aten::addmm.out",)),
        "conv1d": Case(nn.Conv1d(4, 6, 3, stride=2, padding=1), (r(1, 4, 9),), ("aten::convolution.out",)),
        "conv2d groups dilation": Case(nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), (r(1, 4, 7, 6),),
                                       ("aten::convolution.out",)),
        "conv_transpose2d": Case(nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                                 (r(1, 3, 4, 5),), ("aten::convolution.out",)),
        "avg_pool2d": Case(nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                           (r(1, 2, 7, 6),), ("aten::avg_pool2d.out",)),
        "avg_pool2d divisor": Case(nn.AvgPool2d(2, divisor_override=3), (r(1, 2, 4, 6),), ("aten::avg_pool2d.out",)),
        "max_pool2d indices": Case(nn.MaxPool2d(3, stride=2, padding=1, return_indices=True), (r(1, 2, 7, 6),),
                                   ("aten::max_pool2d_with_indices.out",)),
        "adaptive avg pool2d": Case(nn.AdaptiveAvgPool2d((2, 3)), (r(1, 2, 6, 6),),
                                    ("aten::_adaptive_avg_pool2d.out",)),
        "adaptive avg pool1d (a KWS net's)": Case(nn.AdaptiveAvgPool1d(1), (r(1, 4, 25),),
                                                  ("aten::unsqueeze_copy.out", "aten::mean.out",
                                                   "aten::squeeze_copy.dims_out")),
        "upsample nearest": Case(lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), (r(1, 2, 3, 4),),
                                 ("aten::upsample_nearest2d.vec_out",)),
        "upsample bilinear": Case(lambda x: F.interpolate(x, size=(5, 7), mode="bilinear"), (r(1, 2, 3, 4),),
                                  ("aten::upsample_bilinear2d.vec_out",)),
        "upsample bilinear corners": Case(
            lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True), (r(1, 2, 4, 4),),
            ("aten::upsample_bilinear2d.vec_out",)),
        # integer upsampling and pooling: ExecuTorch's kernels (float32 weights, truncated), which
        # PyTorch lacks for these dtypes (uint8 bilinear it has, but rounds)
        "upsample bilinear int8": Case(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), (i8(1, 3, 5, 6),),
                                       ("aten::upsample_bilinear2d.vec_out",)),
        "upsample bilinear int8 size": Case(lambda x: F.interpolate(x, size=(7, 9), mode="bilinear"),
                                            (i8(1, 2, 5, 6),), ("aten::upsample_bilinear2d.vec_out",)),
        "upsample bilinear int8 corners": Case(
            lambda x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True), (i8(1, 2, 5, 6),),
            ("aten::upsample_bilinear2d.vec_out",)),
        "upsample bilinear int8 corners scale": Case(
            lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True), (i8(1, 2, 4, 6),),
            ("aten::upsample_bilinear2d.vec_out",)),
        "upsample bilinear int8 down": Case(lambda x: F.interpolate(x, size=(3, 4), mode="bilinear"),
                                            (i8(2, 2, 5, 7),), ("aten::upsample_bilinear2d.vec_out",)),
        "upsample bilinear int8 x4 channels last (a segmentation head's)": Case(
            lambda x: F.interpolate(x.contiguous(memory_format=torch.channels_last), scale_factor=4, mode="bilinear"),
            (i8(1, 3, 8, 8),), ("dim_order_ops::_clone_dim_order.out", "aten::upsample_bilinear2d.vec_out")),
        "upsample bilinear int16": Case(lambda x: F.interpolate(x, size=(7, 10), mode="bilinear"),
                                        (i(-2**15, 2**15, (1, 2, 3, 4), dtype=torch.int16),),
                                        ("aten::upsample_bilinear2d.vec_out",)),
        "upsample bilinear uint8": Case(lambda x: F.interpolate(x, size=(7, 9), mode="bilinear"),
                                        (i(0, 256, (1, 2, 5, 6), dtype=torch.uint8),),
                                        ("aten::upsample_bilinear2d.vec_out",)),
        "upsample bilinear int32": Case(lambda x: F.interpolate(x, scale_factor=2.5, mode="bilinear"),
                                        (i(-2**30, 2**30, (1, 2, 3, 4), dtype=torch.int32),),
                                        ("aten::upsample_bilinear2d.vec_out",)),
        "upsample nearest int8": Case(lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), (i8(1, 2, 3, 4),),
                                      ("aten::upsample_nearest2d.vec_out",)),
        "upsample nearest int8 size": Case(lambda x: F.interpolate(x, size=(7, 5), mode="nearest"),
                                           (i8(1, 2, 3, 4),), ("aten::upsample_nearest2d.vec_out",)),
        "upsample nearest int16 channels last": Case(
            lambda x: F.interpolate(x.contiguous(memory_format=torch.channels_last), scale_factor=3, mode="nearest"),
            (i(-2**15, 2**15, (1, 3, 3, 4), dtype=torch.int16),),
            ("dim_order_ops::_clone_dim_order.out", "aten::upsample_nearest2d.vec_out")),
        "adaptive avg pool2d int64": Case(nn.AdaptiveAvgPool2d((2, 3)),
                                          (i(-2**40, 2**40, (1, 2, 5, 7)),), ("aten::_adaptive_avg_pool2d.out",)),
        # integer remainder: ExecuTorch's is C's % (the dividend's sign), PyTorch's the divisor's
        "remainder int8 scalar": Case(lambda x: torch.remainder(x, 3), (i8(2, 8),), ("aten::remainder.Scalar_out",)),
        "remainder int16 tensor": Case(torch.remainder, (i(-300, 300, (2, 8), dtype=torch.int16), _signed_divisors()),
                                       ("aten::remainder.Tensor_out",)),
        "remainder float scalar": Case(lambda x: torch.remainder(x, -2.5), (r(2, 8) * 10,),
                                       ("aten::remainder.Scalar_out",)),
        # norms
        "layer_norm": Case(nn.LayerNorm(8), (r(2, 3, 8),), ("aten::native_layer_norm.out",)),
        "group_norm": Case(nn.GroupNorm(2, 4), (r(2, 4, 3, 3),), ("aten::native_group_norm.out",)),
        "batch_norm": Case(_batch_norm(), (r(2, 3, 4, 4),), ("aten::_native_batch_norm_legit_no_training.out",)),
        # constants and casts
        "arange": Case(lambda x: x + torch.arange(3, dtype=torch.float32), (r(2, 3),), ("aten::arange.start_out",)),
        "arange step": Case(lambda x: x * torch.arange(1, 12, 3), (i(-5, 5, (2, 4)),),
                            ("aten::arange.start_out",)),
        "full": Case(lambda x: x + torch.full((2, 3), 1.5), (r(2, 3),), ("aten::full.out",)),
        "full float64": Case(lambda x: x + torch.full((2, 3), 0.1, dtype=torch.float64),
                             (r(2, 3, dtype=torch.float64),), ("aten::full.out",)),
        "full_like": Case(lambda x: torch.full_like(x, 2.5) * x, (r(2, 3),), ("aten::full_like.out",)),
        "float to int": Case(lambda x: (x * 10).to(torch.int32), (r(2, 3),),
                             ("dim_order_ops::_to_dim_order_copy.out",)),
        "int to float": Case(lambda x: x.to(torch.float32) / 3, (i(-50, 50, (2, 3), dtype=torch.int32),),
                             ("dim_order_ops::_to_dim_order_copy.out",)),
        "channels last": Case(lambda x: (x + 1).contiguous(memory_format=torch.channels_last), (r(1, 2, 3, 4),),
                              ("dim_order_ops::_clone_dim_order.out",)),
        # int8 quantization
        "quantize per tensor": Case(lambda x: q.quantize_per_tensor(x, 0.02, 3, -128, 127, torch.int8), (r(2, 8),),
                                    ("quantized_decomposed::quantize_per_tensor.out",)),
        "dequantize per tensor": Case(lambda x: q.dequantize_per_tensor(x, 0.02, -5, -128, 127, torch.int8),
                                      (i(-128, 128, (2, 8), dtype=torch.int8),),
                                      ("quantized_decomposed::dequantize_per_tensor.out",)),
        "quantize per channel": Case(_PerChannel(), (r(2, 3, 4),),
                                     ("quantized_decomposed::quantize_per_channel.out",
                                      "quantized_decomposed::dequantize_per_channel.out")),
    }


def _signed_divisors():
    """int16 divisors of both signs, none zero."""
    sign = torch.randint(0, 2, (2, 8), dtype=torch.int16) * 2 - 1
    return torch.randint(1, 20, (2, 8), dtype=torch.int16) * sign


def _batch_norm() -> nn.Module:
    bn = nn.BatchNorm2d(3).eval()
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    return bn


class _PerChannel(nn.Module):
    """int8 quantize then dequantize with one scale and zero point per channel (axis 1)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("scales", torch.tensor([0.01, 0.02, 0.05], dtype=torch.float64))
        self.register_buffer("zero_points", torch.tensor([0, -3, 7]))

    def forward(self, x):
        q = torch.ops.quantized_decomposed
        qx = q.quantize_per_channel(x, self.scales, self.zero_points, 1, -128, 127, torch.int8)
        return qx, q.dequantize_per_channel(qx, self.scales, self.zero_points, 1, -128, 127, torch.int8)


with torch.random.fork_rng():  # fixed inputs and weights, without touching the session's RNG
    torch.manual_seed(0)
    CASES = _cases()


class _Cases(nn.Module):
    """The cases as one module: inputs and outputs of all of them, flattened in order."""

    def __init__(self, cases: list):
        super().__init__()
        self.fns = [c.fn for c in cases]
        self.modules_ = nn.ModuleList([c.fn for c in cases if isinstance(c.fn, nn.Module)])
        self.arity = [len(c.inputs) for c in cases]

    def forward(self, *inputs):
        outputs, k = [], 0
        for fn, n in zip(self.fns, self.arity):
            result = fn(*inputs[k:k + n])
            outputs += list(result) if isinstance(result, (tuple, list)) else [result]
            k += n
        return tuple(outputs)


def _lower(cases: list, path):
    """Write the cases' CPU-only program to ``path``; the kernels it runs."""
    from executorch.exir import EdgeCompileConfig, to_edge_transform_and_lower

    from labkit.toolchain import pte

    inputs = tuple(t for c in cases for t in c.inputs)
    ep = torch.export.export(_Cases(cases).eval(), inputs)
    # linear kept whole, as the Cortex-M flow keeps it (else it is permute + addmm)
    config = EdgeCompileConfig(preserve_ops=[torch.ops.aten.linear.default])
    path.write_bytes(to_edge_transform_and_lower(ep, compile_config=config).to_executorch().buffer)
    return {f"{op.name}.{op.overload}" for op in pte.read(path).program.execution_plan[0].operators}


def _run_both(path, inputs) -> tuple[list, list]:
    from executorch.runtime import Runtime

    ours = list(Program(path, []).run(inputs))
    theirs = list(Runtime.get().load_program(path).load_method("forward").execute(list(inputs)))
    return ours, theirs


def _n_outputs(case) -> int:
    """Traced on fake tensors: PyTorch itself has no kernel for some cases' dtypes."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    with torch.no_grad(), FakeTensorMode(allow_non_fake_inputs=True) as mode:
        result = case.fn(*(mode.from_tensor(t) for t in case.inputs))
    return len(result) if isinstance(result, (tuple, list)) else 1


class _Suite:
    """Every case lowered and run by both runners, once for the module."""

    def __init__(self, folder):
        from executorch.runtime import Runtime

        self.folder = folder
        available = Runtime.get().operator_registry.operator_names
        self.skipped = {name: f"ExecuTorch's Python runtime has no kernel for {', '.join(missing)}"
                        for name, c in CASES.items() if (missing := [k for k in c.kernels if k not in available])}
        self.names = [n for n in CASES if n not in self.skipped]
        cases = [CASES[n] for n in self.names]
        self.path, self.inputs = folder / "all.pte", tuple(t for c in cases for t in c.inputs)
        self.kernels = _lower(cases, self.path)
        unknown = self.kernels - set(available)
        assert not unknown, f"the cases run kernels ExecuTorch's runtime lacks ({unknown}): name them in a case"
        self.results = {}
        try:
            ours, theirs = _run_both(self.path, self.inputs)
        except Exception:  # noqa: BLE001 - each case then runs alone, so the failure names it
            return
        k = 0
        for name, case in zip(self.names, cases):
            n = _n_outputs(case)
            self.results[name] = (ours[k:k + n], theirs[k:k + n])
            k += n

    def outputs(self, name) -> tuple[list, list]:
        if name not in self.results:
            path = self.folder / f"case-{list(CASES).index(name)}.pte"
            _lower([CASES[name]], path)
            self.results[name] = _run_both(path, CASES[name].inputs)
        return self.results[name]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    return _Suite(tmp_path_factory.mktemp("host-kernels"))


@pytest.mark.parametrize("name", list(CASES))
def test_the_host_runner_computes_what_executorch_does(suite, name):
    if name in suite.skipped:
        pytest.skip(suite.skipped[name])
    case = CASES[name]
    assert set(case.kernels) <= suite.kernels, f"{name} no longer lowers to {case.kernels}"
    ours, theirs = suite.outputs(name)
    assert len(ours) == len(theirs) == _n_outputs(case)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        where = f"{name}, output {k}"
        assert (a.dtype, a.shape) == (b.dtype, b.shape), f"{where}: {a.dtype} {a.shape} vs {b.dtype} {b.shape}"
        if a.dtype.is_floating_point:  # a few ulps: the kernels may sum in another order
            tolerance = 8 * torch.finfo(a.dtype).eps
            torch.testing.assert_close(a, b, rtol=tolerance, atol=tolerance, msg=lambda m: f"{where}: {m}")
        else:
            assert torch.equal(a, b), f"{where}: {a} vs {b}"


def test_each_out_kernel_runs_the_op_exir_made_it_from():
    """Every out variant ExecuTorch's runtime has a kernel for maps back to the functional op
    whose out variant exir's own to_out_variant says it is (so a name such as mean.out
    cannot pick mean.default, which has no dim)."""
    from executorch.exir.operator.convert import to_out_variant
    from executorch.runtime import Runtime

    checked = 0
    for kernel in sorted(Runtime.get().operator_registry.operator_names):
        name, _, overload = kernel.rpartition(".") if "." in kernel else (kernel, "", "")
        try:
            op, _, out_schema, _ = _resolve_op(name, overload)
        except SimulationError:  # not in PyTorch (e.g. executorch_prim::et_view, dynamic shapes only)
            continue
        if out_schema is None:
            continue
        try:
            out = to_out_variant(op)[0]
        except AssertionError:  # exir's own pairing trips over aten::pow.int_to_int (pow has a case above)
            continue
        assert out.name() == kernel, f"{kernel} runs as {op.name()}, whose out variant is {out.name()}"
        checked += 1
    assert checked > 200


def test_a_result_of_the_wrong_shape_is_an_error_not_a_wrong_answer(suite):
    """The old mapping of mean.out to mean.default (all elements, no dim) gave a 0-d result
    that later operators failed on far away; now the operator itself is named."""
    runner = Program(suite.path, [])
    index = next(k for k, op in enumerate(runner.plan.operators) if (op.name, op.overload) == ("aten::mean", "out"))
    _, _, out_schema, name = runner.ops[index]
    runner.ops[index] = (torch.ops.aten.mean.default, torch.ops.aten.mean.default._schema, out_schema, name)
    with pytest.raises(SimulationError, match=r"aten::mean\.out gave a result of shape \(\) where the program plans"):
        runner.run(suite.inputs)
    assert _resolve_op("aten::mean", "out")[0] is torch.ops.aten.mean.dim


def test_an_integer_operator_pytorch_lacks_is_one_clear_error(tmp_path):
    """int8 adaptive average pooling has no PyTorch kernel (nor an ExecuTorch one): the error
    names the operator and the dtype, and says what still works, not PyTorch's text alone."""
    x = torch.zeros(1, 2, 6, 6, dtype=torch.int8)
    path = tmp_path / "int8-pool.pte"
    _lower([Case(nn.AdaptiveAvgPool2d((2, 3)), (x,), ())], path)
    with pytest.raises(SimulationError, match=r"cannot run the CPU operator aten::_adaptive_avg_pool2d\.out on "
                                              r"int8 tensors: PyTorch has no kernel for that dtype") as error:
        Program(path, []).run((x,))
    assert "every other part of labkit still work for this model" in str(error.value)
