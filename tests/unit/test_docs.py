"""The docs hold together: every relative link and #anchor resolves, the README stays a front door,
and every figure the README quotes is in docs/results.md beside its command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.project import ROOT

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md")),
         ROOT / "notebooks/README.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


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
