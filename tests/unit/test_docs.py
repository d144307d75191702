"""The docs hold together: every relative link and #anchor resolves, the README stays a front door,
every figure the README quotes is in docs/results.md beside its command, every Python example runs,
and the explorer's tabs are the page's."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bench.project import ROOT
from charlm.model.checkpoint import save
from charlm.model.lstm import LitCharRNN
from charlm.text.splits import load_vocab
from tests.helpers.text import make_text, prepare_text

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md")),
         ROOT / "notebooks/README.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
PYTHON = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks() -> list[tuple[str, int, str]]:
    """Every ```python block of the pages: (page, line of its first code line, code)."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in PYTHON.finditer(text):
            line = text.count("\n", 0, block.start(1)) + 1
            found.append((str(page.relative_to(ROOT)), line, block.group(1)))
    return found


BLOCKS = python_blocks()


def anchors(page: Path) -> set[str]:
    """The #anchors GitHub gives a page's headings."""
    found = set()
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        in_code ^= line.startswith("```")
        if not in_code and (m := re.match(r"^#{1,6}\s+(.*)$", line)):
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            found.add(slug)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not checked (offline)
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target} does not exist"
        if anchor:
            assert anchor in anchors(linked), f"{page.name}: no heading #{anchor} in {linked.name}"


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 220
    for page in PAGES:
        assert not re.search(r"\bissues?\s*#?\d+", page.read_text(encoding="utf-8"), re.I), page.name
    assert "⟨" not in readme  # no placeholder left


def test_every_figure_in_the_readme_is_in_the_results_page():
    readme = re.sub(r"```.*?```", "", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)
    results = (ROOT / "docs/results.md").read_text(encoding="utf-8")
    for figure in set(re.findall(r"(?<![\w.])\d+\.\d{2,3}(?![\w.])", readme)):  # losses, shares: 1.482, 0.73
        assert figure in results, f"{figure} is quoted in the README but not in docs/results.md"


@pytest.fixture(scope="module")
def pipeline_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding what the examples read, where the pipeline leaves it: data/prepared/ of a small
    play-like text, and models/best.ckpt, a tiny model of its vocabulary (untrained: the examples show
    calls, not quality)."""
    root = tmp_path_factory.mktemp("pipeline")
    data = prepare_text(make_text() + "ROMEO:\n", root / "data/prepared")
    vocab = load_vocab(data)
    (root / "models").mkdir()
    model = LitCharRNN(len(vocab), embed_dim=8, hidden_size=16, num_layers=1, vocab=vocab)
    save(model, root / "models/best.ckpt")
    return root


def test_the_python_examples_are_found():
    assert {"docs/usage.md", "docs/exercise.md"} <= {page for page, _, _ in BLOCKS}


@pytest.mark.parametrize("page, line, code", BLOCKS, ids=[f"{page}:{line}" for page, line, _ in BLOCKS])
def test_every_python_example_runs(page, line, code, pipeline_outputs, monkeypatch, capsys):
    """Each block as a reader pastes it, in the repository root of a pipeline that has run."""
    monkeypatch.chdir(pipeline_outputs)
    exec(compile(code, f"{page}:{line}", "exec"), {"__name__": "__main__"})
    capsys.readouterr()  # what it printed is the reader's: running without an error is the check


def page_tabs() -> set[str]:
    """The tabs `charlm explore` makes: the name of every `gr.Tab("...")` in charlm/app/ (read, not built:
    building the page takes seconds)."""
    found = set()
    for path in (ROOT / "charlm/app").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "Tab" and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
    return found


def section(page: str, heading: str) -> str:
    """The text of `page` under `heading`, up to the next heading of any level."""
    text = (ROOT / page).read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    end = re.search(r"^#", text[start + len(heading) + 2 :], re.M)
    return text[start : start + len(heading) + 2 + (end.start() if end else len(text))]


NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def test_the_docs_list_the_explorer_s_tabs():
    tabs = page_tabs()
    assert len(tabs) >= 6, tabs
    exercise = section("docs/exercise.md", "## Explore the temperature interactively")
    assert f" with {NUMBER_WORDS[len(tabs)]} tabs" in exercise
    rows = re.findall(r"^\| (.+?) \| .* \|$", exercise, re.M)
    assert rows[0] == "tab" and set(rows[1:]) == tabs, rows
    usage = section("docs/usage.md", "## `charlm explore`")
    assert set(re.findall(r"^- \*\*(.+?)\*\*:", usage, re.M)) == tabs
