"""`download` called directly, and what it leaves behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from charlm import params


def fetch(cfg: params.CorpusParams, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """download() into tmp_path/raw/corpus.txt, local books read from tmp_path: the text it wrote and
    its provenance; no temp file is left."""
    from charlm.text.corpus import download

    out = tmp_path / "raw"
    provenance = download(cfg, out / "corpus.txt", books=tmp_path)
    assert [p.name for p in out.iterdir()] == ["corpus.txt"]
    return (out / "corpus.txt").read_bytes().decode("utf-8"), provenance


def refused(cfg: params.CorpusParams, tmp_path: Path, message: str, books: Path | None = None) -> str:
    """download() into tmp_path/raw raises a CharlmError matching `message` (its text is returned), and
    the folder is as it was: no temp file, an earlier corpus.txt untouched."""
    from charlm.errors import CharlmError
    from charlm.text.corpus import download

    out = tmp_path / "raw"
    before = {p.name: p.read_bytes() for p in out.iterdir()} if out.exists() else {}
    with pytest.raises(CharlmError, match=message) as error:
        download(cfg, out / "corpus.txt", books=books or tmp_path)
    assert ({p.name: p.read_bytes() for p in out.iterdir()} if out.exists() else {}) == before
    return str(error.value)
