"""DVC experiments on the real pipeline: exp run -S, exp show, metrics/params/plots diff, the report."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.project import DVC, ROOT, commit, copy_project, environment, sh
from tests.helpers.config import TINY
from tests.helpers.server import Route, serve
from tests.helpers.text import make_text


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory):
    book = ("*** START OF THE PROJECT GUTENBERG EBOOK SEVEN ***\n" + make_text(200, seed=7)
            + "*** END OF THE PROJECT GUTENBERG EBOOK SEVEN ***\n")
    with serve({"/a.txt": Route(make_text(200).encode()),
                "/cache/epub/7/pg7.txt": Route(book.encode())}) as server:
        path = copy_project(tmp_path_factory.mktemp("exps"), {
            "corpus.source": server.url("/a.txt"),
            "corpus.gutenberg_url": server.url("/cache/epub/{id}/pg{id}.txt"),
            **TINY})
        commit(path)
        sh(path, *DVC, "exp", "run", "-n", "baseline")
        sh(path, *DVC, "exp", "run", "-n", "wide", "-S", "model.hidden_size=32")
        sh(path, *DVC, "exp", "run", "-n", "book", "-S", "corpus.source=gutenberg:7")
        yield path


def exp_show(repo) -> dict[str, dict]:
    """Experiment name -> {"params": flat dict, "metrics": flat dict}."""
    out = {}
    for baseline in json.loads(sh(repo, *DVC, "exp", "show", "--json")):
        for exp in baseline.get("experiments") or []:
            for rev in exp["revs"]:
                data = rev["data"]
                params = {f"{k}": v for k, v in data["params"]["params.yaml"]["data"].items()}
                metrics = {f"{f}:{k}": v for f, m in data["metrics"].items() for k, v in m["data"].items()}
                out[rev["name"]] = {"params": params, "metrics": metrics, "rev": data["rev"]}
    return out


def test_exp_show_lists_every_experiment_with_params_and_metrics(repo):
    exps = exp_show(repo)
    assert {"baseline", "wide", "book"} <= set(exps)
    assert exps["wide"]["params"]["model"]["hidden_size"] == 32
    assert exps["baseline"]["params"]["model"]["hidden_size"] == 16
    assert exps["book"]["params"]["corpus"]["source"] == "gutenberg:7"
    for name in ("baseline", "wide", "book"):
        metrics = exps[name]["metrics"]
        assert metrics["metrics/train.json:val_loss"] > 0
        assert 0 <= metrics["metrics/sample.json:chance_level"] < 1
    assert (exps["book"]["metrics"]["metrics/prepare.json:characters"]
            != exps["baseline"]["metrics"]["metrics/prepare.json:characters"])


def test_metrics_and_params_diff_between_experiments(repo):
    diff = json.loads(sh(repo, *DVC, "metrics", "diff", "baseline", "wide", "--json"))
    train = diff["metrics/train.json"]
    assert train["val_loss"]["old"] != train["val_loss"]["new"]
    assert "metrics/prepare.json" not in diff  # same corpus: nothing changed there
    params = json.loads(sh(repo, *DVC, "params", "diff", "baseline", "wide", "--json"))
    assert (params["params.yaml"]["model.hidden_size"]["old"] == 16
            and params["params.yaml"]["model.hidden_size"]["new"] == 32)


def test_plots_diff_holds_both_experiments(repo):
    out = json.loads(sh(repo, *DVC, "plots", "diff", "baseline", "wide", "--json"))
    (loss,) = out["data"]["Cross-entropy (nats per character)"]
    assert loss["revisions"] == ["baseline", "wide"]
    points = loss["content"]["data"]["values"]
    for rev in ("baseline", "wide"):  # train and val curves of both runs, 2 epochs each
        assert (sorted(p["filename"] for p in points if p["rev"] == rev)
                == ["train/loss.tsv"] * 2 + ["val/loss.tsv"] * 2)


def test_report_has_every_experiment(repo):
    result = subprocess.run([sys.executable, "-m", "tools.report"], cwd=repo, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(repo)},
                            timeout=300)
    assert result.returncode == 0, result.stderr
    html = (repo / "plots/experiments.html").read_text()
    for name, exp in exp_show(repo).items():
        assert f">{name}<" in html
        assert f"{exp['metrics']['metrics/train.json:val_loss']}" in html
    assert (repo / "plots/experiments_loss.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("override, message", [
    ("train.patience=-1", "train.patience=-1 is invalid; expected an integer from 0 to 1,000,000"),
    ("+train.learning_rate=0.1", "unknown key 'train.learning_rate'"),
])
def test_bad_override_fails_fast_and_loses_nothing(repo, override, message):
    """DVC deletes a stage's outputs before running it; after the refusal, putting the params back and
    `dvc repro` restores every one of them from the run-cache, byte for byte, without training."""
    sh(repo, *DVC, "exp", "apply", "baseline")  # a workspace whose outputs match its params
    keep = ["models/best.ckpt", "metrics/train.json", "metrics/sample.json", "data/samples/T0.5.txt",
            "plots/recognisable_words.png", "dvclive/plots/metrics/val/loss.tsv"]
    before = {f: (repo / f).read_bytes() for f in keep}
    result = subprocess.run([*DVC, "exp", "run", "-S", override], cwd=repo, capture_output=True, text=True,
                            env=environment())
    sh(repo, "git", "checkout", "params.yaml")  # `exp run -S` wrote the bad value into the workspace
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error: ")]
    assert errors == [f"error: params.yaml: {message}"] or (len(errors) == 1 and message in errors[0])
    assert "Epoch" not in result.stdout + result.stderr  # refused before any training
    assert not list(repo.glob("**/.*.tmp"))  # nothing half-written

    out = sh(repo, *DVC, "repro")
    assert "Running stage" not in out
    assert {f: (repo / f).read_bytes() for f in keep} == before
