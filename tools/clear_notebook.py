"""notebooks/exercise.ipynb as it is committed: `python -m tools.clear_notebook` after running it.

Outputs, execution counts and what Jupyter records of each run (timings, scroll and collapse state)
go; each cell's tags stay, since the notebook's test finds its cells by them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

NOTEBOOK = Path("notebooks/exercise.ipynb")
KEPT = ("tags",)  # cell metadata that is content, not a record of a run


def cleared(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` without outputs, execution counts or run metadata."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        cell.metadata = nbformat.NotebookNode({k: v for k, v in cell.metadata.items() if k in KEPT})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


if __name__ == "__main__":
    nbformat.write(cleared(nbformat.read(NOTEBOOK, as_version=4)), NOTEBOOK)
    print(f"cleared {NOTEBOOK}")
