"""The wsd decay in real (tiny) runs: what starts it, and a run that ends when it does."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest

from charlm.text.splits import CharDataset
from tests.helpers.config import tiny
from tests.helpers.training import train_tiny


def batches_per_epoch(prepared_dir) -> int:
    cfg = tiny("train")
    return math.ceil(len(CharDataset(prepared_dir, tiny("model").maxlen, cfg.step)) / cfg.batch_size)


def counting() -> Callable[[], float]:
    """A clock that counts its readings (one per training batch) as seconds: whatever the machine's speed,
    a cap of N seconds falls at batch N."""
    batches = itertools.count()
    return lambda: next(batches)


def test_wsd_finishes_its_decay_within_the_time_cap(prepared_dir, tmp_path):
    """The budget starts the decay when (1 - decay) of the time is spent, planned by the pace to end
    before the cap; the run ends with it, at the floor, a validation of the decayed weights last."""
    _, metrics = train_tiny(prepared_dir, tmp_path, schedule="wsd", max_epochs=None, max_time=100 / 60,
                            decay_patience=4, patience=5, clock=counting())
    assert metrics["decay_reason"] == "max_time" and metrics["decay_start_step"] == 80
    assert metrics["stopped_by"] == "decay" and 80 + metrics["decay_steps"] < 100
    assert metrics["final_lr"] == pytest.approx(0.1 * tiny("train").lr)  # down at the floor before the cap
    steps = 80 + metrics["decay_steps"]
    assert metrics["epochs"] == round(steps / batches_per_epoch(prepared_dir), 2)
    assert metrics["best_step"] == steps  # the decayed weights were validated at the very end


def test_a_plateau_starts_a_decay_that_runs_to_its_end_before_any_early_stop(prepared_dir, tmp_path):
    """No time cap: a plateau (decay_patience validations without progress) starts the decay; early
    stopping, whose patience runs out one validation later, waits for the decay to end the run."""
    _, metrics = train_tiny(prepared_dir, tmp_path, schedule="wsd", lr=1e-9, max_epochs=20,
                            val_check_interval=0.25, decay_patience=1, patience=2, decay=0.5)
    assert metrics["decay_reason"] == "plateau" and metrics["stopped_by"] == "decay"
    assert metrics["final_lr"] == pytest.approx(0.1e-9)
    assert metrics["validations"] > 3  # early stopping alone would have ended it at the third
    per_epoch = batches_per_epoch(prepared_dir)
    end = metrics["decay_start_step"] + metrics["decay_steps"]
    assert metrics["epochs"] == round(end / per_epoch, 2)


def test_with_a_time_cap_early_stopping_waits_for_the_decay(prepared_dir, tmp_path):
    """A stalled run with max_time: neither a plateau nor early stopping ends it before the budget's decay
    has run."""
    _, metrics = train_tiny(prepared_dir, tmp_path, schedule="wsd", lr=1e-9, max_epochs=None,
                            max_time=60 / 60, val_check_interval=0.25, decay_patience=1, patience=2,
                            clock=counting())
    assert metrics["decay_reason"] == "max_time" and metrics["stopped_by"] == "decay"
    assert metrics["final_lr"] == pytest.approx(0.1e-9)


def test_wsd_decay_start_repeats_a_run(prepared_dir, tmp_path):
    first = train_tiny(prepared_dir, tmp_path / "a", schedule="wsd", max_epochs=3, decay_patience=4,
                       patience=5)[1]
    assert first["decay_reason"] == "max_epochs" and first["stopped_by"] == "decay"
    assert first["final_lr"] == pytest.approx(0.1 * tiny("train").lr)
    again = train_tiny(prepared_dir, tmp_path / "b", schedule="wsd", max_epochs=3, decay_patience=4,
                       patience=5, decay_start=first["decay_start_step"])[1]
    assert again["decay_reason"] == "decay_start" and again["val_loss"] == first["val_loss"]
