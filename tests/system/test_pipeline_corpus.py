"""Swapping the corpus with one parameter: `dvc repro prepare` on a Gutenberg id, a local file, a list."""

from __future__ import annotations

import json

import pytest

from bench.project import commit, copy_project, write_params
from tests.helpers.config import TINY
from tests.helpers.server import Route, serve
from tests.helpers.stages import repro
from tests.helpers.text import BODY, BOTH_MARKERS, make_text

LOCAL = make_text(60, seed=3)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory):
    book = Route((BOTH_MARKERS.replace(BODY, make_text(40, seed=5))).encode())
    with serve({"/cache/epub/1342/pg1342.txt": book}) as server:
        path = copy_project(tmp_path_factory.mktemp("repo"), TINY)
        (path / "data/books/local.txt").write_text(LOCAL.replace("\n", "\r\n"), encoding="utf-8")
        commit(path)
        yield path, server.url("/cache/epub/{id}/pg{id}.txt")


@pytest.mark.parametrize("source, expected", [
    ("gutenberg:1342", make_text(40, seed=5)),
    ("data/books/local.txt", LOCAL),
    (["gutenberg:1342", "data/books/local.txt"], make_text(40, seed=5) + "\n" + LOCAL),
], ids=["gutenberg", "local", "list"])
def test_repro_prepares_the_chosen_corpus(repo, source, expected):
    path, template = repo
    write_params(path, {**TINY, "corpus.source": source, "corpus.gutenberg_url": template})
    assert repro(path, "prepare") == {"download", "prepare"}
    assert (path / "data/raw/corpus.txt").read_text(encoding="utf-8") == expected
    stats = json.loads((path / "metrics/prepare.json").read_text())
    assert stats["characters"] == len(expected) and stats["vocab_size"] == len(set(expected))
    provenance = json.loads((path / "data/raw/provenance.json").read_text())
    records = provenance.get("sources", [provenance])
    assert [r["source"] for r in records] == (source if isinstance(source, list) else [source])
    assert (path / "plots/char_frequency.png").read_bytes()[:4] == b"\x89PNG"
