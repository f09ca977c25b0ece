"""How a model is quantized: a scheme for the whole model, or a default with
overrides per nn.Module path or type, and how many calibration samples.

A ``Quantization`` is small, hashable and picklable (module types are kept by
their qualified name), so it is part of the cache key and of the compile job;
the worker turns it into ExecuTorch's Arm quantizer configs (``configure``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import QuantizationError
from .fx import clean_module_path


@dataclass(frozen=True)
class Scheme:
    name: str
    act_bits: int
    weight_bits: int
    per_channel: bool
    text: str  # what a figure subtitle or summary says


SCHEMES = {s.name: s for s in (
    Scheme("int8", 8, 8, True, "int8 activations, int8 per-channel weights"),
    Scheme("int8-per-tensor", 8, 8, False, "int8 activations, int8 per-tensor weights"),
    Scheme("a16w8", 16, 8, True, "int16 activations, int8 per-channel weights"),
    Scheme("a8w4", 8, 4, True, "int8 activations, 4-bit per-channel weights"),
)}
DEFAULT = "int8"


@dataclass(frozen=True)
class Quantization:
    """``default`` for every operator, except those inside a module named in
    ``modules`` ((path, scheme) pairs) or of a type in ``types`` ((qualified class
    name, scheme) pairs). ExecuTorch's quantizer gives a module path precedence
    over a type, and both over the default."""

    default: str = DEFAULT
    modules: tuple[tuple[str, str], ...] = ()
    types: tuple[tuple[str, str], ...] = ()

    @property
    def overrides(self) -> tuple[tuple[str, str], ...]:
        return self.modules + tuple((name.rsplit(".", 1)[-1], s) for name, s in self.types)

    def describe(self) -> str:
        """'int8', or 'int8; features.1: a16w8; Linear: a16w8'."""
        return "; ".join([self.default] + [f"{where}: {scheme}" for where, scheme in self.overrides])

    def key(self) -> dict:
        return {"default": self.default, "modules": list(self.modules), "types": list(self.types)}

    def schemes(self) -> set[str]:
        return {self.default} | {s for _, s in self.modules + self.types}

    def max_bits(self) -> tuple[int, int]:
        """(activation bits, weight bits) at their widest."""
        used = [SCHEMES[s] for s in self.schemes()]
        return max(s.act_bits for s in used), max(s.weight_bits for s in used)


def parse(value) -> Quantization:
    """A Quantization from a scheme name, a mapping ``{"default": scheme, "path.to.module":
    scheme, nn.ModuleType: scheme}``, a Quantization, or None (the default, int8)."""
    if value is None:
        return Quantization()
    if isinstance(value, Quantization):
        for s in value.schemes():
            _scheme(s)
        return value
    if isinstance(value, str):
        return Quantization(_scheme(value))
    if not isinstance(value, Mapping):
        raise QuantizationError(
            f"quantization must be a scheme name or a mapping, not {type(value).__name__}. "
            f"Schemes: {', '.join(SCHEMES)}; e.g. "
            "{'default': 'int8', 'features.1': 'a16w8', torch.nn.Linear: 'a16w8'}.")
    default, modules, types = DEFAULT, [], []
    for where, scheme in value.items():
        scheme = _scheme(scheme, where)
        if where == "default":
            default = scheme
        elif isinstance(where, str):
            if not where or where.startswith(".") or where.endswith("."):
                raise QuantizationError(f"{where!r} is not a module path; write it as named_modules() does, "
                                        "e.g. 'features.1'.")
            modules.append((where, scheme))
        elif isinstance(where, type):
            types.append((f"{where.__module__}.{where.__qualname__}", scheme))
        else:
            raise QuantizationError(f"A quantization override is keyed by a module path (str) or an nn.Module "
                                    f"type, not {where!r}.")
    return Quantization(default, tuple(modules), tuple(types))


def from_text(scheme: str, overrides: str = ""):
    """What compile() takes from a scheme and overrides written as text
    (``"features.1=a16w8, classifier=int8"``; the Lab's and the CLI's form)."""
    text = (overrides or "").strip()
    if not text:
        return scheme
    choice = {"default": scheme}
    for item in filter(None, (part.strip() for part in text.replace(";", ",").split(","))):
        path, sep, value = (p.strip() for p in item.partition("="))
        if not sep or not path or not value:
            raise QuantizationError(f"Could not read the override {item!r}: write each as module=scheme, "
                                    f"separated by commas (schemes: {', '.join(SCHEMES)}).")
        choice[path] = value
    return choice


def _scheme(name, where=None) -> str:
    if isinstance(name, str) and name in SCHEMES:
        return name
    at = f" for {where!r}" if where is not None else ""
    close = difflib.get_close_matches(str(name), SCHEMES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise QuantizationError(f"Unknown quantization scheme {name!r}{at}.{hint} Schemes: "
                            + "; ".join(f"{s.name} ({s.text})" for s in SCHEMES.values()) + ".")


def check_modules(q: Quantization, model) -> None:
    """Every overridden module path and type exists in ``model`` (an nn.Module or an
    ExportedProgram), else one error listing the choices."""
    if not (q.modules or q.types):
        return
    named = _module_types(model)
    for path, _ in q.modules:
        if path not in named:
            top = [n for n in named if n and "." not in n]
            close = difflib.get_close_matches(path, list(named), n=3)
            raise QuantizationError(
                f"The model has no module {path!r}"
                + (f" (closest: {', '.join(close)})" if close else "")
                + f". Its top-level modules: {', '.join(top) or '(none)'}; name a path from named_modules().")
    for name, _ in q.types:
        if name not in named.values():
            kinds = sorted({t.rsplit(".", 1)[-1] for n, t in named.items() if n})
            raise QuantizationError(f"The model has no module of type {name.rsplit('.', 1)[-1]}. "
                                    f"Its module types: {', '.join(kinds)}.")


def _module_types(model) -> dict[str, str]:
    """{module path: qualified type name}; for an ExportedProgram, from the module
    stacks its nodes were traced in (what the quantizer matches against)."""
    if hasattr(model, "named_modules"):
        return {n: f"{type(m).__module__}.{type(m).__qualname__}" for n, m in model.named_modules()}

    named = {"": ""}
    for node in model.graph.nodes:
        for path, cls in (node.meta.get("nn_module_stack") or {}).values():
            named[clean_module_path(path)] = cls if isinstance(cls, str) else f"{cls.__module__}.{cls.__qualname__}"
    return named


def check_calibration(calibration) -> int | None:
    """``calibration`` as a sample count (None: the model's own default count)."""
    if calibration is None:
        return None
    if isinstance(calibration, bool) or not isinstance(calibration, int) or calibration < 1:
        raise QuantizationError(f"calibration must be a number of samples (an int ≥ 1), not {calibration!r}; "
                                "to choose which samples, pass calibration_inputs=[(tensor, ...), ...].")
    return calibration


# ---------------------------------------------------------------- in the worker: ExecuTorch's configs

def config(scheme: str):
    """ExecuTorch's QuantizationConfig for a scheme (post-training, static)."""
    from executorch.backends.arm.quantizer import arm_quantizer as aq

    if scheme == "int8":
        return aq.get_symmetric_quantization_config(is_per_channel=True)
    if scheme == "int8-per-tensor":
        return aq.get_symmetric_quantization_config(is_per_channel=False)
    if scheme == "a16w8":
        return aq.get_symmetric_a16w8_quantization_config(is_per_channel=True)
    if scheme == "a8w4":  # ExecuTorch's default for it is QAT; labkit calibrates (PTQ)
        return aq.get_symmetric_a8w4_quantization_config(is_per_channel=True, is_qat=False)
    raise QuantizationError(f"Unknown quantization scheme {scheme!r}.")


def configure(quantizer, q: Quantization):
    """Set ``q`` on an EthosUQuantizer. Each set_* call takes precedence over the
    ones before it, so types come first, then module paths from the outermost in."""
    quantizer.set_global(config(q.default))
    for name, scheme in q.types:
        quantizer.set_module_type(_type_named(name), config(scheme))
    for path, scheme in sorted(q.modules, key=lambda m: m[0].count(".")):
        quantizer.set_module_name(path, config(scheme))
    return quantizer


def _type_named(qualified: str) -> type:
    """A stand-in for a module type: the quantizer matches types by the string
    ``__module__ + "." + __qualname__`` in each node's nn_module_stack, so the class
    itself (perhaps local to a notebook cell) need not be importable in the worker."""
    head, _, tail = qualified.rpartition(".")
    return type(tail, (), {"__module__": head, "__qualname__": tail})
