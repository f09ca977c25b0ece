"""What every make_lesson_NN.py shares: cell constructors and writing the notebook."""

from pathlib import Path

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write(cells: list, filename: str) -> None:
    """Write the lesson next to this file, without outputs (the tests execute it)."""
    nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC})
    nbf.write(nb, Path(__file__).with_name(filename))
