"""When the wsd schedule's decay starts and the run ends: a decay is never cut short.

    DecayTrigger              starts the decay (the time cap, a plateau, the last epochs, a fixed step)
                              and ends the run when the decay ends
    EarlyStoppingBeforeDecay  Lightning's EarlyStopping, silent while a decay is under way or to come
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, EarlyStopping

from charlm.params.schema import TrainParams
from charlm.train.callbacks import TimeLimit, say
from charlm.train.schedules import WarmupStableDecay

LEEWAY = 0.97  # a decay planned by the clock ends this share of the time left: room for the last validation


class DecayTrigger(Callback):
    """Starts the wsd schedule's decay and ends the run when the decay ends: a decay is never cut short.

    It starts at step `decay_start` if set; else, with `max_time` set, once (1 - decay) of the time is
    spent, planned to end within the cap at the pace of the run so far, validation included (a plateau
    is not trusted there: at the peak learning rate validation wanders around a slow descent); without
    a time cap, after `decay_patience` validations without a better val_loss, over the `decay` share of
    the run so far; and at the latest at the last step whose decay still ends within `max_epochs`.
    The metrics report the step and the length (`decay_start_step`, `decay_steps`)."""

    def __init__(self, cfg: TrainParams, schedule: WarmupStableDecay, time_limit: TimeLimit) -> None:
        self.cfg = cfg
        self.schedule = schedule
        self.time_limit = time_limit
        self.best = math.inf
        self.stalls = 0
        self.reason: str | None = None
        self.finished = False

    def decay(self, trainer: L.Trainer, reason: str, start: int, steps: int | None = None) -> None:
        if self.schedule.start is not None:
            return
        self.schedule.decay_from(start, self.cfg.decay, steps)
        self.reason = reason
        say(trainer, f"\ntrain: learning rate decays from step {start:,} over {self.schedule.steps:,} steps"
                     f" ({reason})")

    def steps_left(self, step: int) -> int:
        """The steps that fit in what is left of `max_time`, at the run's pace so far (validation
        included), less LEEWAY for the last validation and a pace that varies."""
        left = self.time_limit.limit - self.time_limit.seconds
        return max(1, int(LEEWAY * left * step / max(self.time_limit.seconds, 1e-9)))

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.cfg.decay_start is not None:
            self.decay(trainer, "decay_start", self.cfg.decay_start)

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        step = trainer.global_step
        limit = self.time_limit.limit
        if limit is not None and self.time_limit.seconds >= (1 - self.cfg.decay) * limit:
            self.decay(trainer, "max_time", step, self.steps_left(step))
        last_step = (self.cfg.max_epochs or 0) * trainer.num_training_batches
        if self.cfg.max_epochs and step + 1 + self.schedule.decay_steps(step + 1, self.cfg.decay) > last_step:
            self.decay(trainer, "max_epochs", step)  # the last step whose decay still ends within max_epochs
        if self.schedule.start is not None and step >= self.schedule.start + self.schedule.steps:
            trainer.should_stop = self.finished = True  # Lightning validates the decayed weights, then stops

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        loss = float(trainer.callback_metrics["val_loss"])
        if loss < self.best:
            self.best = loss
            self.stalls = 0
        else:
            self.stalls += 1
        if self.stalls >= self.cfg.decay_patience and self.time_limit.limit is None:
            self.decay(trainer, "plateau", trainer.global_step)

    def decides(self) -> bool:
        """Whether the decay is under way or comes with the time cap: then the run ends when it ends."""
        return self.schedule.start is not None or self.time_limit.limit is not None

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "stalls": self.stalls, "decay_reason": self.reason}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]
        self.stalls = state["stalls"]
        self.reason = state["decay_reason"]


class EarlyStoppingBeforeDecay(EarlyStopping):
    """Lightning's EarlyStopping on val_loss, silent while a wsd decay is under way or still to come with
    the time cap (`DecayTrigger.decides`): a decay is the phase that gives the schedule its final gain,
    and the run ends when it does. Without a time cap, the plateau that starts the decay comes first
    (decay_patience < patience)."""

    def __init__(self, patience: int, trigger: DecayTrigger | None) -> None:
        super().__init__(monitor="val_loss", mode="min", patience=patience, check_on_train_epoch_end=False)
        self.trigger = trigger

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.trigger is None or not self.trigger.decides():
            super().on_validation_end(trainer, module)
