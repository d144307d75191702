"""fit(): real (tiny) Lightning training runs, their checkpoints and metrics."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from charlm.errors import CharlmError
from charlm.evaluate.score import block_loss
from charlm.model.checkpoint import load_checkpoint
from charlm.model.lstm import LitCharRNN
from charlm.text.prepare import prepare
from charlm.text.splits import CharDataset, load_split, load_vocab
from charlm.train.batches import block_batches
from charlm.train.fit import check_size, fit
from charlm.train.rundir import RunDir
from charlm.train.trainer import cpu_has_bf16
from tests.helpers.config import tiny
from tests.helpers.text import make_text
from tests.helpers.training import train_tiny


def test_tiny_training_learns_and_saves_a_ready_checkpoint(prepared_dir, tmp_path):
    best, metrics = train_tiny(prepared_dir, tmp_path, log=True)
    vocab = load_vocab(prepared_dir)
    assert metrics["epochs"] == 2 and metrics["stopped_by"] == "max_epochs" and metrics["validations"] == 2
    assert math.isfinite(metrics["val_loss"]) and metrics["val_loss"] < math.log(len(vocab))
    assert metrics["val_bpc"] == pytest.approx(metrics["val_loss"] / math.log(2), abs=2e-4)
    assert 0 < metrics["val_acc"] <= 1 and metrics["windows_per_second"] > 0

    model = LitCharRNN.load_from_checkpoint(best, weights_only=True)
    assert model.vocab == vocab and model.hparams.maxlen == 16 and model.hparams.hidden_size == 16
    # the same checkpoint, read without Lightning
    assert load_checkpoint(best, vocab=vocab).hparams.maxlen == 16
    with pytest.raises(CharlmError, match="was trained on a different vocabulary than the prepared data"):
        load_checkpoint(best, vocab=[*vocab[:-1], "\u2603"])
    assert (tmp_path / "dvclive/plots/metrics/val/loss.tsv").read_text().count("\n") == 3  # header + 2 epochs
    assert metrics["val_loss_stateful"] == round(model.stateful_loss(load_split(prepared_dir, "val")), 4)


def test_a_warm_up_starts_below_the_peak(prepared_dir, tmp_path):
    """wsd with warmup: the logged learning rate of step 0 is lr / warm-up steps, then it climbs."""
    lr = tiny("train").lr
    train_tiny(prepared_dir, tmp_path, log=True, schedule="wsd", warmup=0.5, batch_size=400, decay_patience=1,
               patience=2)
    rows = (tmp_path / "dvclive/plots/metrics/lr-AdamW/weights.tsv").read_text().splitlines()[1:]
    rates = [float(r.split("\t")[1]) for r in rows]  # one row per optimiser step, from the first
    assert rates[:3] == pytest.approx([lr / 2, lr, lr])


def test_early_stopping_ends_a_run_that_stops_improving(prepared_dir, tmp_path):
    _, metrics = train_tiny(prepared_dir, tmp_path, lr=1e-9, patience=2, max_epochs=10,
                            val_check_interval=0.5)
    assert metrics["stopped_by"] == "early_stopping" and metrics["epochs"] < 10
    assert metrics["validations"] == 3  # patience counts validations: the first, then two without progress
    assert metrics["epochs"] == 1.5


def test_carry_state_training_runs(prepared_dir, tmp_path):
    _, metrics = train_tiny(prepared_dir, tmp_path, objective="every", carry_state=0.75, batch_size=8)
    assert metrics["epochs"] == 2 and metrics["val_loss"] < math.log(len(load_vocab(prepared_dir)))
    # back to back: train.step unused
    assert metrics["train_windows"] == len(CharDataset(prepared_dir, 16, 16))


def test_bf16_training_validates_in_fp32(prepared_dir, tmp_path):
    """bf16-mixed where the CPU computes bfloat16 natively; elsewhere a one-line refusal."""
    if not cpu_has_bf16():
        with pytest.raises(CharlmError,
                           match="train.precision=bf16-mixed needs a CPU with AVX-512 BF16 or AMX"):
            train_tiny(prepared_dir, tmp_path, precision="bf16-mixed")
        return
    best, metrics = train_tiny(prepared_dir, tmp_path, precision="bf16-mixed")
    assert metrics["precision"] == "bf16-mixed"
    model = LitCharRNN.load_from_checkpoint(best, weights_only=True).eval()
    with torch.inference_mode():
        losses = [(model.loss(x, y).item(), y.numel()) for x, y in block_batches(prepared_dir, "val")]
    fp32 = sum(loss * n for loss, n in losses) / sum(n for _, n in losses)
    assert metrics["val_loss"] == pytest.approx(fp32, abs=1e-4)  # validated in fp32, not bf16


def test_diverging_loss_stops_with_epoch_and_batch(prepared_dir, tmp_path):
    with pytest.raises(CharlmError, match=r"train loss is (nan|inf) at epoch 1, batch \d+: lower train.lr"):
        train_tiny(prepared_dir, tmp_path, lr=100)


def test_too_long_a_window_is_refused_before_training(prepared_dir, tmp_path):
    with pytest.raises(CharlmError,
                       match=r"split has [\d,]+ characters; model.maxlen=5000 needs at least 5,001"):
        fit(tiny("model", maxlen=5000), tiny("train"), 1, prepared_dir, RunDir(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_a_model_too_big_for_memory_is_refused_before_it_is_built(prepared_dir, tmp_path):
    huge = tiny("model", hidden_size=8192, num_layers=32)  # the largest params.yaml accepts: 17 G parameters
    with pytest.raises(CharlmError,
                       match=r"the model would have [\d,]+ parameters \([\d,]+ GB to train\), more than"):
        check_size(huge, 65)


def test_same_seed_same_run(prepared_dir, tmp_path):
    runs = [train_tiny(prepared_dir, tmp_path / f"m{i}", seed=3) for i in range(2)]
    timing = ("train_seconds", "wall_seconds", "windows_per_second", "predicted_chars_per_second")
    first, second = ({k: v for k, v in m.items() if k not in timing} for _, m in runs)
    assert first == second
    a, b = (torch.load(best, weights_only=True)["state_dict"] for best, _ in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_training_never_reads_the_test_text(prepared_dir, tmp_path, monkeypatch):
    """Selection (early stopping, the best checkpoint, the decay) and the run's metrics see the validation
    text only: the test text is the evaluate stage's."""
    import charlm.text.splits
    import charlm.train.fit

    read: list[str] = []

    def spy(real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            read.append(args[1])
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(charlm.text.splits, "load_split", spy(charlm.text.splits.load_split))
    monkeypatch.setattr(charlm.train.fit, "load_split", spy(charlm.train.fit.load_split))
    _, metrics = train_tiny(prepared_dir, tmp_path, schedule="wsd", decay_patience=1, patience=2,
                            max_epochs=3)
    assert "val" in read and "test" not in read
    assert not [k for k in metrics if k.startswith("test")]


def test_val_and_test_loss_score_the_same_blocks_whatever_maxlen(prepared_dir, tmp_path):
    """Models with different windows are scored on the same 40-character blocks: neither gets more context."""
    scored = {}
    for maxlen in (8, 24):
        best, metrics = fit(tiny("model", maxlen=maxlen), tiny("train"), 1, prepared_dir,
                            RunDir(tmp_path / f"run{maxlen}"), progress=False)
        model = LitCharRNN.load_from_checkpoint(best, weights_only=True).eval()
        blocks = CharDataset(prepared_dir, 40, 40, split="test", objective="every")
        x, y = blocks[torch.arange(len(blocks))]
        with torch.inference_mode():
            assert block_loss(model, prepared_dir, "test") == pytest.approx(model.loss(x, y).item(), rel=1e-5)
        scored[maxlen] = metrics["val_predictions"]
    assert scored[8] == scored[24] == len(CharDataset(prepared_dir, 40, 40, split="val")) * 40


def test_a_run_starts_from_another_model_s_weights(prepared_dir, tmp_path):
    """train.init_from: a new text with a character the first model never saw trains from its weights (a
    better start than fresh weights), in the union vocabulary; another shape is refused before training."""
    old = load_checkpoint(train_tiny(prepared_dir, tmp_path / "first", lr=0.03, max_epochs=4)[0])
    text = make_text(seed=7).replace("e", "§")  # a character the first model never read, one it did
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    data = tmp_path / "second"
    data.mkdir()
    prepare(corpus, data, 0.1, 0.1, extra=old.vocab)
    train = tiny("train", init_from="data/weights/first.ckpt", max_epochs=1, lr=0.03)
    best, metrics = fit(tiny("model"), train, 1, data, RunDir(tmp_path / "run"), progress=False, init=old)
    new = set(text) - set(old.vocab)
    assert "§" in new and metrics["init_new_characters"] == len(new)
    assert metrics["init_from"] == "data/weights/first.ckpt"
    assert load_checkpoint(best).vocab == sorted(set(old.vocab) | new)
    _, scratch = fit(tiny("model"), tiny("train", max_epochs=1, lr=0.03), 1, data,
                     RunDir(tmp_path / "scratch"), progress=False)
    assert metrics["val_loss"] < scratch["val_loss"] and scratch["init_from"] is None
    with pytest.raises(CharlmError, match="has hidden_size=16 but params.yaml's model has hidden_size=32"):
        fit(tiny("model", hidden_size=32), train, 1, data, RunDir(tmp_path / "other"), init=old)
    assert not (tmp_path / "other").exists()


def test_the_average_of_the_weights_is_validated_and_kept(prepared_dir, tmp_path):
    """train.ema: validation scores the moving average, the best checkpoint holds it (and the last weights
    beside it, for resuming), and it differs from the last weights."""
    best, metrics = train_tiny(prepared_dir, tmp_path, ema=0.5, max_epochs=2, val_check_interval=1.0)
    raw = torch.load(best, weights_only=True)
    average, last = raw["state_dict"], raw["current_model_state"]
    assert average.keys() == last.keys()
    assert any(not torch.equal(average[k], last[k]) for k in average)
    model = LitCharRNN.load_from_checkpoint(best, weights_only=True).eval()
    with torch.inference_mode():
        assert metrics["val_loss"] == pytest.approx(block_loss(model, prepared_dir, "val"), abs=1e-4)
