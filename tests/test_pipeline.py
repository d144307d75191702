"""End to end: real `dvc repro` in a temporary git + DVC repository, corpus served over loopback HTTP."""

from __future__ import annotations

import json
import math

import pytest
from conftest import DVC, TINY, Route, copy_project, init_repo, make_text, repro, serve, sh, write_params

from charlm import LitCharRNN

STAGES = ("download", "prepare", "train", "sample", "plot_softmax")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory):
    with serve({"/corpus.txt": Route(make_text(200).replace("\n", "\r\n").encode())}) as server:
        path = tmp_path_factory.mktemp("repo")
        copy_project(path)
        write_params(path, {"corpus.source": server.url("/corpus.txt"), **TINY})
        init_repo(path)
        assert repro(path) == set(STAGES)
        yield path


def test_first_repro_leaves_every_output(repo):
    corpus = (repo / "data/raw/corpus.txt").read_text(encoding="utf-8")
    assert corpus == make_text(200)  # CRLF from the server became LF
    model = LitCharRNN.load_from_checkpoint(repo / "models/best.ckpt", weights_only=True)  # ready to use
    train = json.loads((repo / "metrics/train.json").read_text())
    vocab_size = json.loads((repo / "metrics/prepare.json").read_text())["vocab_size"]
    assert model.hparams.vocab_size == vocab_size and model.hparams.maxlen == 16
    assert model.vocab == sorted(set(corpus))
    assert math.isfinite(train["val_loss"]) and train["val_loss"] < 0.9 * math.log(vocab_size)
    temps = [0.2, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0]
    for t in temps:
        text = (repo / f"data/samples/T{t}.txt").read_text(encoding="utf-8")
        assert text.startswith(f"# temperature {t:g}") and len(text) > 120
    sample = json.loads((repo / "metrics/sample.json").read_text())
    assert set(sample["temperature"]) == {f"{t:g}" for t in temps}
    for png in ("softmax_random", "softmax_model", "recognisable_words"):
        assert (repo / f"plots/{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (repo / "plots/recognisable_words.csv").read_text().splitlines()[0].startswith("temperature,")


def test_dvc_reads_metrics_and_plots(repo):
    shown = json.loads(sh(repo, *DVC, "metrics", "show", "--json"))
    files = next(iter(shown.values()))["data"]
    assert {"metrics/prepare.json", "metrics/train.json", "metrics/sample.json"} <= set(files)
    out = sh(repo, *DVC, "plots", "show", "--json")
    assert "Cross-entropy (nats per character)" in out and "softmax_model.png" in out


def test_nothing_changed_runs_nothing(repo):
    assert repro(repo) == set()


def test_changing_temperatures_reruns_only_sample(repo):
    write_params(repo, {"corpus.source": json.loads((repo / "data/raw/provenance.json").read_text())["source"],
                        **TINY, "sample.temperatures": [0.5, 1.0]})
    assert repro(repo) == {"sample"}
    assert sorted(p.name for p in (repo / "data/samples").iterdir()) == ["T0.5.txt", "T1.0.txt"]


def test_changing_the_model_reruns_train_and_after_not_prepare(repo):
    write_params(repo, {"corpus.source": json.loads((repo / "data/raw/provenance.json").read_text())["source"],
                        **TINY, "sample.temperatures": [0.5, 1.0], "model.hidden_size": 24, "model.maxlen": 12})
    assert repro(repo) == {"train", "sample", "plot_softmax"}
    model = LitCharRNN.load_from_checkpoint(repo / "models/best.ckpt", weights_only=True)
    assert model.hparams.hidden_size == 24 and model.hparams.maxlen == 12
    header = (repo / "data/samples/T0.5.txt").read_text(encoding="utf-8").splitlines()[0]
    assert len(eval(header.split("prompt ", 1)[1])) == 12  # the default prompt is maxlen characters, from the model


def test_rerun_is_reproducible(repo):
    timing = ("train_seconds", "wall_seconds", "windows_per_second", "predicted_chars_per_second")

    def results() -> tuple[dict, dict, dict[str, bytes]]:
        train = {k: v for k, v in json.loads((repo / "metrics/train.json").read_text()).items() if k not in timing}
        sample = json.loads((repo / "metrics/sample.json").read_text())
        return train, sample, {p.name: p.read_bytes() for p in (repo / "data/samples").iterdir()}

    before = results()
    sh(repo, *DVC, "repro", "--force")
    assert results() == before  # same losses, accuracies, word metrics, byte-identical texts
