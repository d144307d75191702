"""LitCharRNN's shape and a real (tiny) Lightning training run."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import TINY_MODEL, TINY_TRAIN

from stages.params import CharlmError
from stages.prepare import load_vocab
from stages.train import LitCharRNN, cosine, train


def test_seed_defaults():
    m = LitCharRNN(30)
    assert dict(m.hparams) == {"vocab_size": 30, "embed_dim": 64, "hidden_size": 128, "dropout": 0.2,
                               "lr": 5e-3, "num_layers": 2, "schedule": "constant", "warmup": 0.0}
    assert m.lstm.num_layers == 2 and m.lstm.hidden_size == 128 and m.embed.embedding_dim == 64


def test_output_shape_is_batch_by_vocab():
    m = LitCharRNN(30, embed_dim=8, hidden_size=16)
    x = torch.randint(0, 30, (5, 40))
    assert m(x).shape == (5, 30)
    logits, (h, c) = m.step(x)
    assert logits.shape == (5, 30) and h.shape == c.shape == (2, 5, 16)


def test_tiny_training_learns_and_saves_a_safe_checkpoint(prepared_dir, tmp_path):
    metrics = train(TINY_MODEL, TINY_TRAIN, maxlen=16, step=3, seed=1, data_dir=prepared_dir,
                    model_dir=tmp_path / "models", live_dir=tmp_path / "dvclive", progress=False)
    vocab_size = len(load_vocab(prepared_dir))
    assert metrics["epochs"] == 2 and metrics["early_stopped"] is False
    assert math.isfinite(metrics["val_loss"]) and metrics["val_loss"] < math.log(vocab_size)
    assert metrics["val_bpc"] == pytest.approx(metrics["val_loss"] / math.log(2), abs=2e-4)
    assert 0 < metrics["val_acc"] <= 1 and metrics["windows_per_second"] > 0

    ckpt = torch.load(tmp_path / "models/best.ckpt", weights_only=True)
    assert ckpt["hyper_parameters"]["vocab_size"] == vocab_size
    assert (tmp_path / "dvclive/plots/metrics/val/loss.tsv").read_text().count("\n") == 3  # header + 2 epochs


def test_every_objective_with_cosine_schedule(prepared_dir, tmp_path):
    cfg = {**TINY_TRAIN, "objective": "every", "schedule": "cosine", "warmup": 0.2, "max_epochs": 3}
    metrics = train(TINY_MODEL, cfg, maxlen=16, step=16, seed=1, data_dir=prepared_dir,
                    model_dir=tmp_path / "models", live_dir=tmp_path / "dvclive", progress=False)
    assert metrics["epochs"] == 3 and metrics["val_loss"] < math.log(len(load_vocab(prepared_dir)))
    assert metrics["predicted_chars_per_second"] == pytest.approx(16 * metrics["windows_per_second"], rel=0.01)
    lr = [float(line.split("\t")[-1]) for line in
          (tmp_path / "dvclive/plots/metrics/lr-Adam.tsv").read_text().splitlines()[1:]]
    assert len(lr) == 3 and lr[0] < lr[1] > lr[2] >= 0.1 * cfg["lr"]  # warms up, then decays to no less than lr/10


def test_cosine_factor():
    assert [round(cosine(s, warmup=4, total=104), 3) for s in (0, 3, 4, 54, 104, 200)] == [0.25, 1.0, 1.0, 0.55, 0.1, 0.1]


def test_cosine_schedule_needs_an_epoch_count(prepared_dir, tmp_path):
    with pytest.raises(CharlmError, match="train.schedule=cosine spans train.max_epochs: set it"):
        train(TINY_MODEL, {**TINY_TRAIN, "schedule": "cosine", "max_epochs": None}, maxlen=16, step=3, seed=1,
              data_dir=prepared_dir, model_dir=tmp_path / "models", live_dir=None, progress=False)


def test_early_stopping_fires(prepared_dir, tmp_path):
    cfg = {**TINY_TRAIN, "lr": 0.0, "patience": 1, "max_epochs": 10}  # no progress: stop after one bad epoch
    metrics = train(TINY_MODEL, cfg, maxlen=16, step=3, seed=1, data_dir=prepared_dir,
                    model_dir=tmp_path / "models", live_dir=None, progress=False)
    assert metrics["early_stopped"] is True and metrics["epochs"] < 10


def test_diverging_loss_stops_with_epoch_and_batch(prepared_dir, tmp_path):
    with pytest.raises(CharlmError, match=r"train loss is (nan|inf) at epoch 1, batch \d+: lower train.lr"):
        train(TINY_MODEL, {**TINY_TRAIN, "lr": 1e30}, maxlen=16, step=3, seed=1, data_dir=prepared_dir,
              model_dir=tmp_path / "models", live_dir=None, progress=False)
    assert not (tmp_path / "models/best.ckpt").exists()


def test_same_seed_same_run(prepared_dir, tmp_path):
    runs = [train(TINY_MODEL, TINY_TRAIN, maxlen=16, step=3, seed=3, data_dir=prepared_dir,
                  model_dir=tmp_path / f"m{i}", live_dir=None, progress=False) for i in range(2)]
    timing = ("train_seconds", "wall_seconds", "windows_per_second", "predicted_chars_per_second")
    assert [{k: v for k, v in r.items() if k not in timing} for r in runs][0] == \
           [{k: v for k, v in r.items() if k not in timing} for r in runs][1]
    a, b = (torch.load(tmp_path / f"m{i}/best.ckpt", weights_only=True)["state_dict"] for i in range(2))
    assert all(torch.equal(a[k], b[k]) for k in a)
