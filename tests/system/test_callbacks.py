"""The train stage's callbacks in real (tiny) runs: the time cap and the wsd decay it triggers."""

from __future__ import annotations

import itertools
import math
import signal
from collections.abc import Callable
from typing import Any

import pytest
import torch

from charlm.model.lstm import LitCharRNN
from charlm.text.splits import CharDataset
from charlm.train.callbacks import Stopwatch
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


def test_a_stopwatch_adds_its_laps():
    watch = Stopwatch(1.5)
    watch.stop()  # not running: nothing to add
    assert watch.seconds == 1.5
    watch.start()
    watch.start()  # already running: the lap goes on
    watch.stop()
    assert watch.seconds > 1.5


def test_an_interrupt_during_validation_saves_each_weight_set_in_its_place(prepared_dir, tmp_path,
                                                                           monkeypatch):
    """Ctrl-C while validation scores the moving average (the module holds it then, the callback the
    last weights): the resume point holds the average as the model's weights and the last weights as
    the ones to go on training from, as a checkpoint written between validations does, and resumes."""
    last: dict[str, torch.Tensor] = {}
    seen: dict[str, torch.Tensor] = {}
    validations = itertools.count()

    def after_batch(module: LitCharRNN, *args: Any) -> None:
        last.update({k: v.clone() for k, v in module.state_dict().items()})  # the weights as trained

    def validation_step(module: LitCharRNN, batch: Any, batch_idx: int) -> Any:
        if batch_idx == 0 and next(validations) == 1:  # in the second validation
            seen.update({k: v.clone() for k, v in module.state_dict().items()})  # the average
            raise KeyboardInterrupt  # what Ctrl-C raises at this moment
        return real_step(module, batch, batch_idx)

    real_step = LitCharRNN.validation_step
    monkeypatch.setattr(LitCharRNN, "on_train_batch_end", after_batch, raising=False)
    monkeypatch.setattr(LitCharRNN, "validation_step", validation_step)
    run = tmp_path / "run/checkpoints/last.ckpt"
    try:
        with pytest.raises(SystemExit):  # Lightning's answer to Ctrl-C, after the callbacks' on_exception
            train_tiny(prepared_dir, tmp_path, ema=0.5, max_epochs=3, val_check_interval=1.0,
                       batch_size=16)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Lightning ignores further Ctrl-C
    assert seen, "the interrupt did not come during validation"
    saved = torch.load(run, weights_only=True)
    assert any(not torch.equal(seen[k], last[k]) for k in seen)  # two different weight sets
    for k in seen:
        assert torch.equal(saved["state_dict"][k], seen[k]), k
        assert torch.equal(saved["current_model_state"][k], last[k]), k
    monkeypatch.undo()
    _, metrics = train_tiny(prepared_dir, tmp_path, ema=0.5, max_epochs=3, val_check_interval=1.0,
                            batch_size=16)
    assert metrics["resumed_after_epoch"] == 1 and metrics["epochs"] == 3
