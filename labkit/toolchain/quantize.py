"""PT2E quantization with the Ethos-U quantizer, and the one EthosUCompileSpec
builder (lowering, Vela and fake-quant evaluation all start from it)."""

from __future__ import annotations

from pathlib import Path

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


def fake_quant_graph(prepared, example):
    """The calibrated model converted with its float weights and their quantize/dequantize
    kept (``fold_quantize=False``) and exported: run in PyTorch it gives the
    'fake-quant-int8' values; numerics also runs it with the Q/DQ passed through (float)."""
    import torch
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

    converted = convert_pt2e(prepared, fold_quantize=False)
    return torch.export.export(converted, tuple(example)).module(check_guards=False)
