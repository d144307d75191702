"""End to end: real `dvc repro` in a temporary git + DVC repository, corpus served over loopback HTTP.

The tests share one repository and run in order: what `dvc repro` reruns after each change, and
what it restores from DVC's run-cache instead.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from bench.project import DVC, commit, copy_project, sh, write_params
from charlm import LitCharRNN
from tests.helpers.config import TINY
from tests.helpers.server import Route, serve
from tests.helpers.stages import STAGES, repro
from tests.helpers.text import make_text

OUTPUTS = ("data/raw/corpus.txt", "data/prepared/train.npy", "models/best.ckpt", "metrics/train.json",
           "metrics/evaluate.json", "dvclive/plots/metrics/val/loss.tsv", "data/samples/T1.0.txt",
           "metrics/sample.json", "plots/softmax_model.png")


def digests(repo: Path) -> dict[str, str]:
    return {f: hashlib.sha256((repo / f).read_bytes()).hexdigest() for f in OUTPUTS}


@pytest.fixture(scope="module")
def server():
    with serve({"/corpus.txt": Route(make_text(200).replace("\n", "\r\n").encode())}) as server:
        yield server


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, server):
    path = copy_project(tmp_path_factory.mktemp("repo"), {"corpus.source": server.url("/corpus.txt"), **TINY})
    (path / "data/books/b.txt").write_text(make_text(200, seed=2))
    commit(path)
    assert repro(path) == set(STAGES)
    return path


def use(repo: Path, source: str, overrides: dict[str, object] | None = None) -> None:
    """params.yaml: the tiny configuration on `source`, with dotted keys overridden."""
    write_params(repo, {"corpus.source": source, **TINY, **(overrides or {})})


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
    assert {f"{t:g}" for t in temps} <= set(sample["temperature"])  # and those refined around a crossing
    assert sample["texts_per_temperature"] == 20 and 0 <= sample["chance_level"] < 0.5
    assert {"unrecognisable_at", "unrecognisable_at_low", "unrecognisable_at_high", "crossing",
            "first_grid_point_below"} <= set(sample)
    for png in ("softmax_random", "softmax_model", "recognisable_words"):
        assert (repo / f"plots/{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (repo / "plots/recognisable_words.csv").read_text().splitlines()[0].startswith("temperature,")
    evaluated = json.loads((repo / "metrics/evaluate.json").read_text())
    assert not [k for k in train if k.startswith("test")]  # the test text is the evaluate stage's alone
    assert evaluated["test_loss_dynamic"] < evaluated["test_loss_stateful"] < math.log(vocab_size)
    assert {row["lr"] for row in evaluated["search"]["tried"]} == {0.0005, 0.001, 0.002}
    assert evaluated["dynamic"]["lr"] in (0.0005, 0.001, 0.002) and evaluated["dynamic"]["segment"] == 50
    samples = (repo / "dvclive/samples.md").read_text(encoding="utf-8")  # written while it trained
    assert samples.count("## epoch ") == samples.count("~~~~text\n") == train["validations"]


def test_dvc_reads_metrics_and_plots(repo):
    shown = json.loads(sh(repo, *DVC, "metrics", "show", "--json"))
    files = next(iter(shown.values()))["data"]
    assert {"metrics/prepare.json", "metrics/train.json", "metrics/evaluate.json",
            "metrics/sample.json"} <= set(files)
    assert "test_loss_dynamic" in files["metrics/evaluate.json"]["data"]
    out = sh(repo, *DVC, "plots", "show", "--json")
    assert "Cross-entropy (nats per character)" in out and "softmax_model.png" in out


def test_nothing_changed_runs_nothing(repo):
    assert repro(repo) == set()


def test_switching_corpus_back_restores_from_the_run_cache(repo, server):
    a = digests(repo)
    use(repo, "data/books/b.txt")
    assert repro(repo) == set(STAGES)
    assert digests(repo)["models/best.ckpt"] != a["models/best.ckpt"]

    use(repo, server.url("/corpus.txt"))
    out = sh(repo, *DVC, "repro")
    assert "Running stage" not in out  # no command ran: nothing fetched, nothing trained
    for stage in STAGES:
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in out
    assert digests(repo) == a  # A's own outputs, byte for byte (metrics and timings included)
    assert repro(repo) == set()


def test_editing_a_local_corpus_reruns_download(repo, server):
    book = repo / "data/books/b.txt"
    use(repo, "data/books/b.txt")
    assert repro(repo, "prepare") == set()  # B's data come back from the run-cache
    book.write_text(book.read_text() + "KING:\nA new line of verse.\n")
    assert repro(repo, "prepare") == {"download", "prepare"}
    assert (repo / "data/raw/corpus.txt").read_text().endswith("A new line of verse.\n")
    assert repro(repo, "prepare") == set()  # unchanged: nothing to do
    use(repo, server.url("/corpus.txt"))
    assert repro(repo) == {"download"}  # data/books changed since A ran; A's text did not: nothing after


def test_the_books_readme_is_no_book(repo, server):
    """.dvcignore leaves data/books/README.md out of the download stage's dependency."""
    readme = repo / "data/books/README.md"
    readme.write_text(readme.read_text() + "\nA note for the next reader.\n")
    assert repro(repo) == set()


def test_a_cosmetic_change_in_the_frequency_plot_reruns_prepare_not_train(repo):
    code = repo / "charlm/text/charstats.py"
    code.write_text(code.read_text().replace('"tab:blue"', '"tab:green"'))
    assert repro(repo) == {"prepare"}  # same prepared data: train and what follows stay


def test_a_change_in_the_word_metrics_reruns_sample_only(repo):
    code = repo / "charlm/sample/words.py"
    code.write_text(code.read_text() + "\n# a comment\n")
    assert repro(repo) == {"sample"}


def test_changing_temperatures_reruns_only_sample(repo, server):
    use(repo, server.url("/corpus.txt"), {"sample.temperatures": [0.5, 1.0]})
    assert repro(repo) == {"sample"}
    assert sorted(p.name for p in (repo / "data/samples").iterdir()) == ["T0.5.txt", "T1.0.txt"]


def test_changing_the_model_reruns_train_and_after_not_prepare(repo, server):
    use(repo, server.url("/corpus.txt"), {"sample.temperatures": [0.5, 1.0], "model.hidden_size": 24,
                                          "model.maxlen": 12})
    assert repro(repo) == {"train", "evaluate", "sample", "plot_softmax"}
    model = LitCharRNN.load_from_checkpoint(repo / "models/best.ckpt", weights_only=True)
    assert model.hparams.hidden_size == 24 and model.hparams.maxlen == 12
    header = (repo / "data/samples/T0.5.txt").read_text(encoding="utf-8").splitlines()[0]
    # the default prompt is maxlen characters, from the model
    assert len(eval(header.split("prompt ", 1)[1])) == 12


def test_changing_the_dynamic_evaluation_reruns_evaluate_only(repo, server):
    use(repo, server.url("/corpus.txt"), {"sample.temperatures": [0.5, 1.0], "model.hidden_size": 24,
                                          "model.maxlen": 12, "evaluate.rule": "sgd", "evaluate.lrs": [0.1]})
    assert repro(repo) == {"evaluate"}
    evaluated = json.loads((repo / "metrics/evaluate.json").read_text())
    assert evaluated["dynamic"] == {"rule": "sgd", "lr": 0.1, "segment": 50} and evaluated["search"] is None


def test_rerun_is_reproducible(repo):
    timing = ("train_seconds", "wall_seconds", "windows_per_second", "predicted_chars_per_second")

    def results() -> tuple[dict, dict, dict[str, bytes]]:
        train = {k: v for k, v in json.loads((repo / "metrics/train.json").read_text()).items()
                 if k not in timing}
        sample = json.loads((repo / "metrics/sample.json").read_text())
        evaluated = {k: v for k, v in json.loads((repo / "metrics/evaluate.json").read_text()).items()
                     if k not in ("seconds", "search_seconds")}
        texts = {p.name: p.read_bytes() for p in (repo / "data/samples").iterdir()}
        return train, {**sample, **evaluated}, texts

    before = results()
    sh(repo, *DVC, "repro", "--force")
    assert results() == before  # same losses, accuracies, word metrics, byte-identical texts


def test_charlm_generate_prints_the_sample_stage_s_texts_one_temperature_at_a_time(repo):
    """With the stage's prompt, count, length, top-k, top-p and seed, `charlm generate -t T` prints the
    texts of data/samples/T<t>.txt, whichever other temperatures the stage wrote with them."""
    import ast
    import re
    import subprocess
    import sys

    import yaml

    values = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    sample = values["sample"]
    t = sample["temperatures"][-1]
    written = (repo / f"data/samples/T{float(t)}.txt").read_text(encoding="utf-8")
    prompt = ast.literal_eval(written.splitlines()[0].split("prompt ", 1)[1])
    stage_texts = re.split(r"=== sample \d+ of \d+ ===\n", written)[1:]
    args = ["--checkpoint", "models/best.ckpt", "--prompt", prompt, "-t", str(t), "--count",
            str(sample["count"]), "-n", str(sample["length"]), "--top-k", str(sample["top_k"]), "--top-p",
            str(sample["top_p"]), "--seed", str(values["seed"])]
    printed = subprocess.run([sys.executable, "-m", "charlm", "generate", *args], cwd=repo,
                             capture_output=True, text=True, timeout=300, check=True).stdout
    cli_texts = re.split(r"--- T=[^,]+, text \d+ of \d+ ---\n", printed)[1:]
    assert len(cli_texts) == sample["count"] >= 2
    assert [s.strip("\n") for s in cli_texts] == [s.strip("\n") for s in stage_texts]
