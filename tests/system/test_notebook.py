"""notebooks/exercise.ipynb executed top to bottom in a Jupyter kernel, in its tiny setting (a slice of
the corpus, a small model, one epoch), from the repository root as `make notebook` opens it."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from bench.project import ROOT
from tools.clear_notebook import cleared

NOTEBOOK = ROOT / "notebooks/exercise.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    """The notebook after a run; nbclient raises on the first cell that fails. Its working folder (mkdtemp)
    goes under pytest's temporary folders."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {**os.environ, "CHARLM_NOTEBOOK_TINY": "1", "PYTHONPATH": str(ROOT),
           "TMPDIR": str(tmp_path_factory.mktemp("notebook"))}
    client = NotebookClient(nb, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(ROOT)}})  # the kernel's working directory
    client.execute(env=env)
    return nb


def tagged(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    [cell] = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    return cell


def test_the_saved_notebook_is_valid_and_cleared():
    """No outputs, execution counts or run metadata (`python -m tools.clear_notebook` makes it so)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb == cleared(nb), "clear it: python -m tools.clear_notebook"


def test_clearing_keeps_the_tags_and_drops_the_record_of_a_run(executed):
    nb = cleared(executed)
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert all(set(c.metadata) <= {"tags"} for c in nb.cells) and tagged(nb, "generate")


def test_every_cell_runs_without_an_error(executed):
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


def test_the_temperature_plot_is_shown(executed):
    outputs = tagged(executed, "temperature-plot").outputs
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_the_generated_texts_are_printed_one_per_temperature(executed):
    printed = "".join(o.text for o in tagged(executed, "generate").outputs
                      if o.output_type == "stream" and o.name == "stdout")
    heads = [line for line in printed.splitlines() if line.startswith("===== T = ")]
    assert heads == [f"===== T = {t} =====" for t in (0.2, 0.5, 1.0, 1.5, 2.0)]
    assert printed.count("ROMEO:\nBut soft, what light through yonder") == 5
    assert len(printed) > 5 * 400  # each prompt continued by 400 generated characters
