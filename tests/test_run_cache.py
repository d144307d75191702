"""What `dvc repro` reruns, and what it restores from DVC's run-cache instead (real DVC, temp git repo)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import DVC, TINY, copy_project, init_repo, make_text, repro, sh, write_params

STAGES = {"download", "prepare", "train", "sample", "plot_softmax"}
OUTPUTS = ("data/raw/corpus.txt", "data/prepared/train.npy", "models/best.ckpt", "metrics/train.json",
           "dvclive/plots/metrics/val/loss.tsv", "data/samples/T1.0.txt", "metrics/sample.json",
           "plots/softmax_model.png")


def digests(repo: Path) -> dict[str, str]:
    return {f: hashlib.sha256((repo / f).read_bytes()).hexdigest() for f in OUTPUTS}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cache")
    copy_project(path)
    (path / "data/books/a.txt").write_text(make_text(200, seed=1))
    (path / "data/books/b.txt").write_text(make_text(200, seed=2))
    write_params(path, {"corpus.source": "data/books/a.txt", **TINY})
    init_repo(path)
    return path


def test_switching_corpus_back_restores_from_the_run_cache(repo):
    assert repro(repo) == STAGES
    a = digests(repo)
    write_params(repo, {"corpus.source": "data/books/b.txt", **TINY})
    assert repro(repo) == STAGES
    assert digests(repo)["models/best.ckpt"] != a["models/best.ckpt"]

    write_params(repo, {"corpus.source": "data/books/a.txt", **TINY})
    out = sh(repo, *DVC, "repro")
    assert "Running stage" not in out  # no command ran: nothing fetched, nothing trained
    for stage in STAGES:
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in out
    assert digests(repo) == a  # A's own outputs, byte for byte (metrics and timings included)
    assert repro(repo) == set()


def test_editing_a_local_corpus_reruns_download(repo):
    book = repo / "data/books/a.txt"
    assert repro(repo, "prepare") == set()  # unchanged: nothing to do
    book.write_text(book.read_text() + "KING:\nA new line of verse.\n")
    assert repro(repo, "prepare") == {"download", "prepare"}
    assert (repo / "data/raw/corpus.txt").read_text().endswith("A new line of verse.\n")
    assert repro(repo, "prepare") == set()


def test_a_cosmetic_change_in_the_frequency_plot_reruns_prepare_not_train(repo):
    repro(repo)
    code = repo / "charlm/charstats.py"
    code.write_text(code.read_text().replace('"tab:blue"', '"tab:green"'))
    assert repro(repo) == {"prepare"}  # same prepared data: train and what follows stay


def test_a_change_in_generation_reruns_sample_only(repo):
    code = repo / "charlm/generate.py"
    code.write_text(code.read_text() + "\n# a comment\n")
    assert repro(repo) == {"sample"}
