"""docs/usage.md's table of what `dvc repro` reruns is what tools.reruns makes of dvc.yaml, and
tools.reruns reads a pipeline's deps, params and outputs right."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.project import ROOT
from tools.reruns import PAGE, markdown, project_table, rewrite, rows

STAGES = ("download", "prepare", "train", "evaluate", "sample", "plot_softmax")


def test_the_usage_page_holds_dvc_yaml_s_table():
    page = PAGE.read_text(encoding="utf-8")
    table = project_table()
    assert rewrite(page, table) == page, (
        "docs/usage.md's table of what `dvc repro` reruns differs from dvc.yaml's: run"
        f" `python -m tools.reruns`, or paste this under '## What `dvc repro` reruns':\n\n{table}")


def runs_of(changed: str) -> list[str]:
    """The stages the project's table says a change to `changed` (as the table writes it) reruns."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    values = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    return next(row.runs for row in rows(stages, values, ROOT) if changed in row.changed)


def test_the_project_s_rows_follow_dvc_yaml():
    assert runs_of("`charlm/text/__init__.py`") == list(STAGES)  # every stage imports it
    assert runs_of("`charlm/model/transplant.py`") == ["prepare", "train"]
    assert runs_of("`data/weights/`") == ["prepare", "train"]  # a dependency, whatever train.init_from says
    assert runs_of("`train.init_from`") == ["prepare", "train"]  # prepare's own key, and in train's section
    assert runs_of("`seed`") == ["train", "sample", "plot_softmax"]
    assert runs_of("`charlm/app/`") == []  # the explorer and the command are no stage's


def put(root: Path, *files: str) -> None:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")


def test_a_row_gathers_what_the_same_stages_read_and_names_what_may_follow(tmp_path: Path):
    put(tmp_path, "stages/first.py", "stages/second.py", "stages/third.py", "charlm/__init__.py",
        "charlm/extra.py", "charlm/text/__init__.py", "charlm/text/read.py", "charlm/model/__init__.py",
        "charlm/model/net.py", "charlm/model/unused.py")
    (tmp_path / "data/in").mkdir(parents=True)
    stages = {
        "first": {"deps": ["stages/first.py", "charlm/__init__.py", "charlm/text/__init__.py",
                           "charlm/text/read.py", "data/in"],
                  "params": ["corpus", "train.init_from"], "outs": ["data/raw"]},
        "second": {"deps": ["stages/second.py", "charlm/__init__.py", "charlm/model/__init__.py",
                            "charlm/model/net.py", "data/raw/corpus.txt"],
                   "params": ["train", "seed"], "outs": ["models/m.ckpt"],
                   "metrics": [{"metrics/m.json": {"cache": False}}]},
        "third": {"deps": ["stages/third.py", "charlm/__init__.py", "models/m.ckpt"], "outs": ["plots"]},
    }
    values = {"seed": 1, "corpus": {"source": "x"}, "train": {"lr": 0.1, "init_from": None}}
    assert markdown(stages, values, tmp_path).splitlines()[2:] == [
        "| a `corpus` param, `data/in/`, `stages/first.py`, `charlm/text/` | first | second, third |",
        "| `train.init_from` | first, second | third |",
        "| `charlm/__init__.py` | every stage | nothing |",
        "| a `train` param other than `train.init_from`, `seed`, `stages/second.py`,"
        " `charlm/model/{__init__,net}.py` | second | third |",
        "| `stages/third.py` | third | nothing |",
        "| `charlm/extra.py`, `charlm/model/unused.py` | nothing | nothing |",
    ]


def test_the_table_is_replaced_in_its_page_and_nothing_else():
    table = markdown({"only": {"deps": ["charlm/__init__.py"]}}, {}, ROOT)
    page = "# Page\n\nBefore.\n\n" + table.replace("| every stage |", "| old |") + "\nAfter.\n"
    assert rewrite(page, table) == "# Page\n\nBefore.\n\n" + table + "\nAfter.\n"
    with pytest.raises(ValueError, match="no table"):
        rewrite("# Page without it\n", table)
