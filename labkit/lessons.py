"""The lessons: ``notebooks/NN_title.ipynb``, stored without outputs or kernel metadata.
``install`` copies them into a folder the user owns (``labkit lab``, ``labkit lessons
DIR``) with the kernel to run them on, keeping a copy the user edited; ``run``
executes one headless (``labkit prepare``, the tests)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import shipped
from .errors import LabkitError

KERNEL = "python3"


def sources() -> list[Path]:
    """The lesson notebooks, in order."""
    return sorted(shipped.notebooks().glob("[0-9][0-9]_*.ipynb"))


def select(numbers=None) -> list[Path]:
    """The lessons numbered ``numbers`` (e.g. [1, 3]), or all."""
    chosen = sources()
    if numbers:
        wanted = {int(n) for n in numbers}
        chosen = [s for s in chosen if int(s.name[:2]) in wanted]
        missing = wanted - {int(s.name[:2]) for s in chosen}
        if missing:
            raise LabkitError(f"There is no lesson {', '.join(map(str, sorted(missing)))}; the lessons are "
                              f"{', '.join(s.name[:2] for s in sources())}.")
    return chosen


def notebook(source: Path):
    """The lesson as installed: the stored notebook with the kernel to run it on, its
    cells hashed in its metadata (how ``install`` tells an edited copy)."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    nb.metadata.update(kernel_metadata())
    nb.metadata["labkit"] = {"lesson": source.stem, "cells_sha256": cells_hash(nb)}
    return nb


def kernel_metadata() -> dict:
    """The kernelspec and language_info JupyterLab writes into a notebook when its kernel
    starts, as this machine's kernel reports them: a lesson that already has them opens
    without unsaved changes."""
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        kernelspec = {"name": KERNEL, "display_name": spec.display_name, "language": spec.language}
    except Exception:  # noqa: BLE001 - no installed kernelspec: ipykernel's own default
        kernelspec = {"name": KERNEL, "display_name": "Python 3 (ipykernel)", "language": "python"}
    return {"kernelspec": kernelspec, "language_info": dict(IPythonKernel.language_info)}


def cells_hash(nb) -> str:
    """A hash of what a reader edits: each cell's type and source (not outputs or ids)."""
    cells = [(c.cell_type, c.source) for c in nb.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def install(folder: Path) -> list[str]:
    """Write the lessons into ``folder`` as notebooks. A lesson already there is kept as
    it is when it is the current version or has your edits; an unedited older version is
    replaced. Returns a note for every lesson kept despite a newer version."""
    import nbformat

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    notes = []
    for source in sources():
        shipped = notebook(source)
        path = folder / f"{source.stem}.ipynb"
        if path.exists():
            try:
                copy = nbformat.read(path, as_version=4)
                recorded = copy.metadata.get("labkit", {}).get("cells_sha256")
            except Exception:  # noqa: BLE001 - not a notebook we can read: leave it alone
                notes.append(f"{path.name} is not a readable notebook; left as it is")
                continue
            if recorded == shipped.metadata["labkit"]["cells_sha256"]:
                continue  # the current version (with your outputs)
            if recorded != cells_hash(copy):
                notes.append(f"{path.name} has your edits and was kept; a newer version ships with labkit "
                             f"(delete the file to get it)")
                continue
        nbformat.write(shipped, path)
        _trust(shipped)
    return notes


def _trust(nb) -> None:
    """Sign a lesson as the user's own trusted notebook (Jupyter's notebook signatures), so
    the server does not flag labkit's own lessons as untrusted when they open."""
    from nbformat.sign import NotebookNotary

    try:
        NotebookNotary().sign(nb)
    except Exception:  # noqa: BLE001 - a read-only Jupyter data folder: the lessons still open, untrusted
        pass


@dataclass
class Run:
    """A lesson executed headless, top to bottom, in a fresh kernel."""

    lesson: str
    seconds: float
    error: str = ""  # '' when every cell ran without an error
    cells: int = 0
    notebook: object = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.error


def run(source: Path, folder: Path, timeout: int = 1800) -> Run:
    """Execute one lesson headless in ``folder`` (its working directory); a failing cell
    is reported (its number and error), never raised."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = notebook(source)
    started = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, resources={"metadata": {"path": str(folder)}})
    error = ""
    try:
        client.execute()
    except CellExecutionError as e:
        error = f"{e.ename}: {e.evalue}"
    except Exception as e:  # noqa: BLE001 - a dead kernel, a timeout: report it, go on with the next lesson
        error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    ran = sum(1 for c in code if c.get("execution_count"))
    if error:
        error = f"cell {ran} of {len(code)}: {error}"
    return Run(source.stem, time.perf_counter() - started, error, ran, nb)
