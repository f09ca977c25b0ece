"""PT2E quantization with the Ethos-U quantizer, and the one EthosUCompileSpec
builder (lowering, Vela and fake-quant evaluation all start from it)."""

from __future__ import annotations

from pathlib import Path

from ..errors import QuantizationError
from ..inputs import map_leaves
from ..quantization import Quantization, configure
from ..targets import Target

VELA_FLAGS = ["--verbose-performance", "--enable-debug-db", "--verbose-cycle-estimate"]


def compile_spec(target: Target, work: Path | None = None):
    """ExecuTorch's EthosUCompileSpec for ``target``, with the Vela flags labkit reads the
    per-layer and debug-database outputs of; with ``work``, every intermediate (TOSA,
    Vela's output, ExecuTorch's debug JSON) is written there."""
    from executorch.backends.arm.ethosu import EthosUCompileSpec

    spec = EthosUCompileSpec(target.accelerator, system_config=target.system_config,
                             memory_mode=target.memory_mode, extra_flags=list(VELA_FLAGS),
                             config_ini=target.vela_ini_argument())
    if work is not None:
        spec = spec.dump_intermediate_artifacts_to(str(work)).dump_debug_info(EthosUCompileSpec.DebugMode.JSON)
    return spec


def calibrated(ep, calibration, spec, quantization: Quantization | None = None):
    """The model prepared for PT2E quantization with the Ethos-U quantizer and calibrated:
    ``quantization`` (default: symmetric int8 with per-channel weights, as ExecuTorch's
    examples). ``convert_pt2e`` turns it into the quantized graph."""
    import torch
    from executorch.backends.arm.quantizer import EthosUQuantizer
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e

    quantizer = configure(EthosUQuantizer(spec), quantization or Quantization())
    prepared = prepare_pt2e(ep.module(check_guards=False), quantizer)
    with torch.no_grad():
        for sample in calibration:
            prepared(*sample)
    return prepared


def calibrated_cortex_m(ep, calibration, example, quantization: Quantization | None = None):
    """(prepared and calibrated model, channels-last example) for a CPU-only Cortex-M target,
    as ExecuTorch's Cortex-M flow quantizes (``aot_arm_compiler``'s cortex-m path): the model
    and its inputs channels-last (CMSIS-NN's layout), the Cortex-M backend's own quantizer
    (symmetric int8 only)."""
    import torch
    from executorch.backends.cortex_m.quantizer.quantizer import CortexMQuantizer
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e


    q = quantization or Quantization()
    if q != Quantization():
        raise QuantizationError(f"A CPU-only Cortex-M target quantizes with the Cortex-M backend's quantizer, "
                                f"which offers symmetric int8 only; {q.describe()} needs an Ethos-U target. "
                                "Use quantization='int8' here.")
    example = map_leaves(_channels_last, tuple(example))
    module = ep.module(check_guards=False).to(memory_format=torch.channels_last)
    module = torch.export.export(module, example).module(check_guards=False)
    prepared = prepare_pt2e(module, CortexMQuantizer())
    with torch.no_grad():
        for sample in calibration:
            prepared(*map_leaves(_channels_last, tuple(sample)))
    return prepared, example


def _channels_last(x):
    import torch

    return x.to(memory_format=torch.channels_last) if isinstance(x, torch.Tensor) and x.dim() == 4 else x


def fake_quant_graph(prepared, example):
    """The calibrated model converted with its float weights and their quantize/dequantize
    kept (``fold_quantize=False``) and exported: run in PyTorch it gives the
    'fake-quant-int8' values; numerics also runs it with the Q/DQ passed through (float)."""
    import torch
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

    converted = convert_pt2e(prepared, fold_quantize=False)
    return torch.export.export(converted, tuple(example)).module(check_guards=False)
