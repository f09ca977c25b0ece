"""The lessons as stored in notebooks/ (outputs and kernel metadata stripped), and how
``labkit lab`` installs them into a folder the user owns without losing their edits."""

import ast
import json

import nbformat
import pytest

from labkit import lessons
from tests.conftest import REPO

SOURCES = lessons.sources()


def test_twelve_lessons_in_order_from_the_repository():
    assert [s.name[:2] for s in SOURCES] == [f"{i:02d}" for i in range(1, 13)]
    assert {s.parent for s in SOURCES} == {REPO / "notebooks"}


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_each_stored_lesson_is_stripped(source):
    """What git holds: no outputs, no execution counts, no kernel or other metadata (so a
    run in JupyterLab shows up as a change), and fixed cell ids."""
    stored = json.loads(source.read_text())
    assert stored["metadata"] == {} and (stored["nbformat"], stored["nbformat_minor"]) == (4, 5)
    assert len({cell["id"] for cell in stored["cells"]}) == len(stored["cells"])  # unique: nbformat would rewrite them
    for cell in stored["cells"]:
        assert cell["metadata"] == {} and cell["id"]
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    nbformat.validate(nbformat.reads(source.read_text(), as_version=4))


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_each_lesson_installs_as_a_python_notebook(source):
    nb = lessons.notebook(source)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[0] == "markdown" and nb.cells[0].source.startswith("# Lesson ") and "code" in kinds
    for cell in nb.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)
            assert not cell.outputs and cell.execution_count is None
    nbformat.validate(nb)


def test_install_writes_keeps_and_updates(tmp_path):
    assert lessons.install(tmp_path) == []
    first = tmp_path / f"{SOURCES[0].stem}.ipynb"
    second = tmp_path / f"{SOURCES[1].stem}.ipynb"
    assert len(list(tmp_path.glob("*.ipynb"))) == len(SOURCES)

    ran = nbformat.read(first, as_version=4)  # run in JupyterLab: outputs saved, sources unchanged
    ran.cells[1].outputs = [nbformat.v4.new_output("stream", text="ran")]
    nbformat.write(ran, first)
    edited = nbformat.read(second, as_version=4)  # the user changed a cell
    edited.cells[1].source += "\nprint('mine')"
    nbformat.write(edited, second)
    assert lessons.install(tmp_path) == []  # both current: nothing to say, nothing touched
    assert nbformat.read(first, as_version=4).cells[1].outputs[0]["text"] == "ran"

    old = nbformat.read(first, as_version=4)  # as installed from an older labkit, never edited
    old.cells[0].source += " (old)"
    old.metadata["labkit"]["cells_sha256"] = lessons.cells_hash(old)
    nbformat.write(old, first)
    mine = nbformat.read(second, as_version=4)  # installed from an older labkit, then edited
    mine.metadata["labkit"]["cells_sha256"] = "the hash of an older version"
    nbformat.write(mine, second)
    notes = lessons.install(tmp_path)
    assert "(old)" not in nbformat.read(first, as_version=4).cells[0].source  # unedited: updated
    assert "print('mine')" in nbformat.read(second, as_version=4).cells[1].source  # edited: kept
    assert len(notes) == 1 and second.name in notes[0] and "your edits" in notes[0]


def test_select_names_what_is_missing():
    from labkit.errors import LabkitError

    assert [s.name[:2] for s in lessons.select([1, 3])] == ["01", "03"]
    assert lessons.select([12])[0].name.startswith("12_")
    with pytest.raises(LabkitError, match="no lesson 13"):
        lessons.select([13])
