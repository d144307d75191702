"""docs/parameters.md is what tools.paramdoc makes of params.yaml and charlm/params/schema.py."""

from __future__ import annotations

from bench.project import ROOT
from charlm.params.load import read
from tools.paramdoc import markdown


def test_the_parameters_page_is_up_to_date():
    page = (ROOT / "docs/parameters.md").read_text(encoding="utf-8")
    assert page == markdown(read(ROOT / "params.yaml")), \
        "regenerate it: python -m tools.paramdoc > docs/parameters.md"


def test_every_key_is_on_the_page():
    page = markdown(read(ROOT / "params.yaml"))
    keys = ("`seed`", "`corpus.source`", "`prepare.test_fraction`", "`train.carry_state`", "`plot.prompt`")
    for key in keys:
        assert f"| {key} |" in page
