"""Training in two processes (Lightning DDP on CPU, gloo): each reads its own shard, validation is
scored once over the whole text, and one process writes the outputs. The samplers' own tests are
in test_datamodule.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from bench.project import commit, copy_project
from charlm.model.lstm import LitCharRNN
from charlm.train.batches import block_batches
from tests.helpers.config import TINY, ddp
from tests.helpers.stages import STAGES, repro
from tests.helpers.text import make_text


def test_two_processes_train_on_half_the_windows_each(tmp_path: Path):
    repo = copy_project(tmp_path, {"corpus.source": "data/books/corpus.txt", **TINY, **ddp(2)})
    (repo / "data/books/corpus.txt").write_text(make_text(300, seed=5))
    commit(repo)
    assert repro(repo) == set(STAGES)

    metrics = json.loads((repo / "metrics/train.json").read_text())
    half = metrics["train_windows"] // 2
    # train.threads, not 2 x 2 threads
    assert metrics["processes"] == 2 and metrics["threads_per_process"] == 1
    assert metrics["epochs"] == TINY["train.max_epochs"]
    # each its half, every epoch
    assert metrics["windows_by_process"] == [half * TINY["train.max_epochs"]] * 2
    assert metrics["train_batches_per_epoch"] == math.ceil(half / TINY["train.batch_size"])  # half the steps

    # the logged val_loss is the best model's loss over the whole validation text, scored in this one process
    # (the processes' shards are unequal: 95 windows; a plain mean of their means would be off)
    model = LitCharRNN.load_from_checkpoint(repo / "models/best.ckpt", weights_only=True).eval()
    with torch.no_grad():
        scored = [(model.loss(x, y).item() * y.numel(), y.numel())
                  for x, y in block_batches(repo / "data/prepared", "val")]
    assert sum(n for _, n in scored) == metrics["val_predictions"]
    assert metrics["val_loss"] == pytest.approx(sum(s for s, _ in scored) / metrics["val_predictions"],
                                                abs=1e-4)

    # one of each output, written once: a checkpoint, the metrics, one row per validation in the curves
    assert sorted(p.name for p in (repo / "models").iterdir()) == ["best.ckpt"]
    rows = (repo / "dvclive/plots/metrics/val/loss.tsv").read_text().splitlines()[1:]
    assert len(rows) == metrics["validations"]
    # no lightning_logs/, no second dvclive
    assert sorted(p.name for p in repo.iterdir() if "log" in p.name) == []
    assert json.loads((repo / "metrics/sample.json").read_text())  # sampling from the DDP checkpoint works
    assert repro(repo) == set()
