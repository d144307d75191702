"""Training in two processes (Lightning DDP on CPU, gloo): each reads its own shard, validation is
scored once over the whole text, and one process writes the outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import STAGES, TINY, copy_project, ddp, init_repo, make_text, repro, write_params

from charlm.datamodule import DealtBatches, ShuffledBatches, StreamSampler, val_batches
from charlm.model import LitCharRNN


@pytest.mark.parametrize("world", [1, 2, 3])
def test_training_shards_are_disjoint_equal_and_reshuffled(world):
    shards = [ShuffledBatches(103, 8, seed=1, rank=r, world=world) for r in range(world)]
    seen = [torch.cat(list(s)).tolist() for s in shards]
    assert all(len(b) == 103 // world for b in seen) and len({len(s) for s in shards}) == 1
    assert len(set().union(*seen)) == world * (103 // world)  # no window in two processes
    shards[0].set_epoch(1)
    assert torch.cat(list(shards[0])).tolist() != seen[0]  # another order next epoch


def test_streams_are_split_among_processes():
    one = list(StreamSampler(100, 4))
    two = [list(StreamSampler(100, 2, rank=r, world=2)) for r in range(2)]
    assert len(two[0]) == len(two[1]) == 25 == len(one)  # 4 streams of 25 windows, 2 in each process
    assert [a + b for a, b in zip(*two)] == one


def test_validation_windows_are_dealt_once():
    dealt = [torch.cat(list(DealtBatches(95, 10, rank=r, world=2))).tolist() for r in range(2)]
    assert sorted(dealt[0] + dealt[1]) == list(range(95))


def test_two_processes_train_on_half_the_windows_each(tmp_path: Path):
    (tmp_path / "p").mkdir()
    repo = tmp_path / "p"
    copy_project(repo)
    (repo / "data/books/corpus.txt").write_text(make_text(300, seed=5))
    write_params(repo, {"corpus.source": "data/books/corpus.txt", **TINY, **ddp(2)})
    init_repo(repo)
    assert repro(repo) == set(STAGES)

    metrics = json.loads((repo / "metrics/train.json").read_text())
    half = metrics["train_windows"] // 2
    assert metrics["processes"] == 2 and metrics["threads_per_process"] == 1  # train.threads, not 2 x 2 threads
    assert metrics["epochs"] == TINY["train.max_epochs"]
    assert metrics["windows_by_process"] == [half * TINY["train.max_epochs"]] * 2  # each its half, every epoch
    assert metrics["train_batches_per_epoch"] == math.ceil(half / TINY["train.batch_size"])  # half the steps

    # the logged val_loss is the best model's loss over the whole validation text, scored in this one process
    # (the processes' shards are unequal: 95 windows; a plain mean of their means would be off)
    model = LitCharRNN.load_from_checkpoint(repo / "models/best.ckpt", weights_only=True).eval()
    with torch.no_grad():
        scored = [(model.loss(x, y).item() * y.numel(), y.numel()) for x, y in val_batches(repo / "data/prepared", 16)]
    assert sum(n for _, n in scored) == metrics["val_predictions"]
    assert metrics["val_loss"] == pytest.approx(sum(s for s, _ in scored) / metrics["val_predictions"], abs=1e-4)

    # one of each output, written once: a checkpoint, the metrics, one row per validation in the curves
    assert sorted(p.name for p in (repo / "models").iterdir()) == ["best.ckpt"]
    rows = (repo / "dvclive/plots/metrics/val/loss.tsv").read_text().splitlines()[1:]
    assert len(rows) == metrics["validations"]
    assert sorted(p.name for p in repo.iterdir() if "log" in p.name) == []  # no lightning_logs/, no second dvclive
    assert json.loads((repo / "metrics/sample.json").read_text())  # sampling from the DDP checkpoint works
    assert repro(repo) == set()
