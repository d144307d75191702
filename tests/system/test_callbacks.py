"""The train stage's callbacks in real (tiny) runs: the time cap and the wsd decay it triggers."""

from __future__ import annotations

import itertools
import math

import pytest

from charlm.text.splits import CharDataset
from charlm.train.callbacks import Stopwatch
from tests.helpers.config import tiny
from tests.helpers.training import train_tiny


def batches_per_epoch(prepared_dir) -> int:
    cfg = tiny("train")
    return math.ceil(len(CharDataset(prepared_dir, tiny("model").maxlen, cfg.step)) / cfg.batch_size)


def test_wsd_reaches_its_floor_before_the_time_cap(prepared_dir, tmp_path):
    """A clock that counts batches as seconds: the cap falls at batch 100, whatever the machine's speed."""
    batches = itertools.count()
    _, metrics = train_tiny(prepared_dir, tmp_path, schedule="wsd", max_epochs=None, max_time=100 / 60,
                            decay_patience=4, patience=5, clock=lambda: next(batches))
    assert metrics["stopped_by"] == "max_time"
    assert metrics["decay_reason"] in ("max_time", "plateau") and metrics["decay_start_step"] <= 76
    assert metrics["final_lr"] == pytest.approx(0.1 * tiny("train").lr)  # down at the floor before the cap
    assert metrics["epochs"] == round(100 / batches_per_epoch(prepared_dir), 2)


def test_wsd_decay_start_repeats_a_run(prepared_dir, tmp_path):
    first = train_tiny(prepared_dir, tmp_path / "a", schedule="wsd", max_epochs=3, decay_patience=4,
                       patience=5)[1]
    assert first["decay_reason"] == "max_epochs" and first["stopped_by"] == "max_epochs"
    assert first["final_lr"] == pytest.approx(0.1 * tiny("train").lr)
    again = train_tiny(prepared_dir, tmp_path / "b", schedule="wsd", max_epochs=3, decay_patience=4,
                       patience=5, decay_start=first["decay_start_step"])[1]
    assert again["decay_reason"] == "decay_start" and again["val_loss"] == first["val_loss"]


def test_a_stopwatch_adds_its_laps():
    watch = Stopwatch(1.5)
    watch.stop()  # not running: nothing to add
    assert watch.seconds == 1.5
    watch.start()
    watch.start()  # already running: the lap goes on
    watch.stop()
    assert watch.seconds > 1.5
