"""The train stage's callbacks in real (tiny) runs: the stopwatch, and the resume point after an
interruption during validation."""

from __future__ import annotations

import itertools
import signal
from typing import Any

import pytest
import torch

from charlm.model.lstm import LitCharRNN
from charlm.train.callbacks import Stopwatch
from tests.helpers.training import train_tiny


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
        with pytest.raises(KeyboardInterrupt):  # after the callbacks' on_exception, as stages see it
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
