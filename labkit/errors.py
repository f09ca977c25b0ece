"""labkit's errors: every user mistake is a LabkitError whose message names the
problem and the fix, so the CLI and the Lab can show it on one line."""


class LabkitError(Exception):
    """Base class of every error labkit raises on purpose."""


class UnknownModelError(LabkitError):
    """A model name that is not in the registry."""


class InvalidModelError(LabkitError):
    """Not an nn.Module, or a .pt2 file that is missing or not a torch.export file."""


class ExampleInputError(LabkitError):
    """Example inputs missing, or of the wrong shape or dtype for the model."""


class ExportError(LabkitError):
    """torch.export cannot capture the model (e.g. data-dependent control flow)."""


class TargetError(LabkitError):
    """An invalid accelerator, system config, memory mode or Vela .ini."""


class CompileError(LabkitError):
    """Quantization or lowering failed inside ExecuTorch."""


class VelaError(LabkitError):
    """Vela refused or failed to compile the TOSA graph."""


class WorkerCrashedError(LabkitError):
    """The compile worker process died (e.g. a native crash) or was interrupted."""


class FvpNotFoundError(LabkitError):
    """No Corstone FVP (or no runner binary) is installed."""


class InputValueError(LabkitError):
    """Inputs contain NaN or infinity, or do not match the compiled program."""


class CompileCancelled(LabkitError):
    """The user cancelled a compile; nothing was cached."""


class ModelTooLargeError(LabkitError):
    """The model needs more SRAM than the chosen memory mode provides. ``report``
    holds the compile's Report (pass allow_overflow=True to get it returned)."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report
