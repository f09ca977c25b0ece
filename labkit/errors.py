"""Every error labkit raises on purpose. Each is a LabkitError whose message
names the problem and the fix, so the CLI and the Lab can show it on one line.

They all live here so that one raised in the compile worker arrives in the
kernel as the same class (the worker sends the class name and the message;
``from_message`` rebuilds it)."""


class LabkitError(Exception):
    """Base class of every error labkit raises on purpose."""


# ---------------------------------------------------------------- the model and its inputs

class UnknownModelError(LabkitError):
    """A model name that is not in the registry."""


class InvalidModelError(LabkitError):
    """Not an nn.Module, or a .pt2 file that is missing or not a torch.export file."""


class ExampleInputError(LabkitError):
    """Example inputs missing, or of the wrong shape or dtype for the model."""


class InputValueError(LabkitError):
    """Inputs contain NaN or infinity, or do not match the compiled program."""


# ---------------------------------------------------------------- compiling

class TargetError(LabkitError):
    """An invalid accelerator, system config, memory mode or Vela .ini."""


class QuantizationError(LabkitError):
    """An unknown quantization scheme, an override naming no module of the model, a
    scheme the target cannot run, or a bad calibration count."""


class ExportError(LabkitError):
    """torch.export cannot capture the model (e.g. data-dependent control flow)."""


class CompileError(LabkitError):
    """Quantization or lowering failed inside ExecuTorch."""


class VelaError(LabkitError):
    """Vela refused or failed to compile the TOSA graph."""


class WorkerCrashedError(LabkitError):
    """The compile worker process died (e.g. a native crash) or was interrupted."""


class CompileCancelled(LabkitError):
    """The user cancelled a compile; nothing was cached."""


class ModelTooLargeError(LabkitError):
    """The model needs more SRAM than the chosen memory mode provides. ``report``
    holds the compile's Report (pass allow_overflow=True to get it returned)."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class CorruptReportError(LabkitError):
    """A saved report whose files are missing or do not match their manifest."""


# ---------------------------------------------------------------- running a compiled program

class SimulationError(LabkitError):
    """The compiled program cannot be run on the host (missing artifacts, unsupported instruction)."""


class FvpNotFoundError(LabkitError):
    """No Corstone FVP (or no runner binary) is installed."""


class RunnerNotFoundError(FvpNotFoundError):
    """No ExecuTorch arm_executor_runner for the report's NPU (or one labkit cannot feed the .pte)."""


class FvpRunError(LabkitError):
    """The FVP ran but the program did not complete (runtime error, fault, wrong runner)."""


class FvpTimeoutError(FvpRunError):
    """The FVP did not finish within the timeout."""


def from_message(class_name: str, message: str) -> LabkitError:
    """The error a worker reported by class name (LabkitError for a name not defined here)."""
    cls = globals().get(class_name)
    if not (isinstance(cls, type) and issubclass(cls, LabkitError)):
        cls = LabkitError
    return cls(message)


def first_line(e: BaseException) -> str:
    """The first non-empty line of an exception's message (toolchain errors run to pages)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__
