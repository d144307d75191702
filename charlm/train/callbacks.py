"""The Lightning callbacks of the train stage, one job each.

    History              every validation's results, the time and windows of training proper
    TimeLimit            train.max_time, over every process and every resumed part of the run
    DecayTrigger         when the wsd schedule's decay starts (the budget, a plateau, the last epochs),
                         and the run's end when it ends
    EarlyStoppingBeforeDecay  Lightning's EarlyStopping, never before a wsd decay has run
    MovingAverage        Lightning's WeightAveraging over a share of the run (train.ema)
    ReportingCheckpoint  best.ckpt and last.ckpt at every validation, with a line for the user
    InterruptCheckpoint  on Ctrl-C or SIGTERM, last.ckpt as of now, for the next run to resume
    Preview              a short text at each validation, printed and kept in dvclive/samples.md

In a distributed run every process runs them; only the first one prints and keeps the run's log.
Their state goes into each checkpoint, so a resumed run carries on with it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint, WeightAveraging
from lightning.pytorch.utilities.exceptions import SIGTERMException

from charlm.files import display_path
from charlm.model.checkpoint import Checkpoint
from charlm.params.schema import TrainParams
from charlm.sample.generate import generate
from charlm.text.splits import decode
from charlm.train.rundir import RunDir
from charlm.train.schedules import WarmupStableDecay

LEEWAY = 0.97  # a decay planned by the clock ends this share of the time left: room for the last validation


def say(trainer: L.Trainer, line: str) -> None:
    """A line for the user from the first process only (each process runs the callbacks)."""
    if trainer.is_global_zero:
        print(line, flush=True)


def epochs_done(trainer: L.Trainer) -> float:
    """Training progress in epochs (2.25: a quarter into the third)."""
    return round(trainer.global_step / max(1, trainer.num_training_batches), 2)


class Stopwatch:
    """Seconds spent between start() and stop(), summed over any number of laps; repeated calls are no-ops."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self._since: float | None = None

    def start(self) -> None:
        if self._since is None:
            self._since = time.perf_counter()

    def stop(self) -> None:
        if self._since is not None:
            self.seconds += time.perf_counter() - self._since
            self._since = None


class History(Callback):
    """Every validation's results, and the time and windows of training proper (validation not
    counted). Each process counts its own windows (`by_process`, gathered at the end)."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.validations: list[dict[str, float]] = []
        self.clock = Stopwatch()
        self.windows = 0
        self.predictions = 0  # characters predicted: windows x maxlen with the "every" objective
        self.resumed_after = 0.0  # epochs trained before this process took over
        self.by_process: list[int] = []

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.clock.start()  # also after a mid-epoch resume, where Lightning skips on_train_epoch_start
        processes = f" in each of {trainer.world_size} processes" if trainer.world_size > 1 else ""
        size = sum(p.numel() for p in module.parameters())
        say(trainer, f"train: training from epoch {trainer.current_epoch + 1},"
                     f" {trainer.num_training_batches:,} batches per epoch{processes} ({size:,} parameters,"
                     f" {trainer.precision})")

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            self.run.keep_log()  # the log as of the last checkpoint, and last epoch's train row: to resume
        self.clock.start()

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self.windows += len(batch[1])
        self.predictions += batch[1].numel()

    def on_validation_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.clock.stop()

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        # runs before ModelCheckpoint's own hook (Lightning puts checkpointing last): every checkpoint has it
        self.clock.start()
        m = trainer.callback_metrics
        self.validations.append({"epoch": epochs_done(trainer), "step": trainer.global_step,
                                 "val_loss": float(m["val_loss"]), "val_acc": float(m["val_acc"])})

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.clock.stop()
        if trainer.is_global_zero:
            self.run.keep_log()

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.by_process = trainer.strategy.all_gather(torch.tensor(self.windows)).reshape(-1).tolist()

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception: BaseException) -> None:
        self.clock.stop()  # before InterruptCheckpoint (later in the list) saves the time so far

    def state_dict(self) -> dict[str, Any]:
        return {"validations": self.validations, "train_seconds": self.clock.seconds, "windows": self.windows,
                "predictions": self.predictions}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.validations = state["validations"]
        self.clock = Stopwatch(state["train_seconds"])
        self.windows = state["windows"]
        self.predictions = state["predictions"]
        self.resumed_after = self.validations[-1]["epoch"] if self.validations else 0.0


class TimeLimit(Callback):
    """Stops training once `minutes` (None: no cap) are spent on the run, counted over every process
    that worked on it. `clock` is read once per training batch (a test passes one that counts
    batches). In a distributed run the first process's clock decides for all: they must stop at the
    same step."""

    def __init__(self, minutes: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = minutes * 60 if minutes else None
        self.clock = clock
        self.spent = 0.0  # seconds before this process took over
        self.since = 0.0  # its clock when it did
        self.seconds = 0.0  # spent on the run, as of the last batch
        self.timed_out = False

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.since = self.clock()
        self.seconds = self.spent

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self.seconds = trainer.strategy.broadcast(self.spent + self.clock() - self.since)
        if self.limit is not None and self.seconds >= self.limit:
            trainer.should_stop = True
            self.timed_out = True

    def state_dict(self) -> dict[str, Any]:
        return {"spent": self.seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.spent = state["spent"]


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


class MovingAverage(WeightAveraging):
    """train.ema: Lightning's WeightAveraging with an exponential moving average whose horizon is a share
    of the run: after step n it keeps 1 - 1 / (1 + share * n) of itself, so it averages about the last
    `share` of the steps so far (early on it follows the weights; the first validations score trained
    weights, not a mix with the random ones). Validation scores the average and the checkpoints keep it.

    While validating, the module holds the average and the callback the last weights; an interruption
    there swaps them back before InterruptCheckpoint saves, or the resume point would hold them crossed."""

    def __init__(self, share: float) -> None:
        super().__init__(multi_avg_fn=ema_update(share))
        self.validating = False

    def on_validation_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        super().on_validation_epoch_start(trainer, module)
        self.validating = self._average_model is not None

    def on_validation_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        super().on_validation_epoch_end(trainer, module)
        self.validating = False

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception: BaseException) -> None:
        if self.validating:  # Lightning has no public call for the swap its validation hooks make
            self._swap_models(module)
            self.validating = False


def ema_update(share: float) -> Callable[[list[torch.Tensor], list[torch.Tensor], torch.Tensor], None]:
    """The average's update after its n-th step, in place (see MovingAverage)."""

    def update(averages: list[torch.Tensor], currents: list[torch.Tensor], n: torch.Tensor) -> None:
        keep = 1 - 1 / (1 + share * int(n))
        for average, current in zip(averages, currents, strict=True):
            average.lerp_(current, 1 - keep)

    return update


class ReportingCheckpoint(ModelCheckpoint):
    """ModelCheckpoint (best and last, at every validation) that keeps the run's log as of each
    checkpoint and says when it has written: a line for the user, and an event for whoever waits for
    a checkpoint (the resume test)."""

    def __init__(self, run: RunDir) -> None:
        super().__init__(dirpath=run.checkpoints, filename="best", monitor="val_loss", mode="min",
                         save_top_k=1, save_last=True, enable_version_counter=False,
                         save_on_train_epoch_end=False)
        self.run = run

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        super().on_validation_end(trainer, module)
        if trainer.is_global_zero:
            self.run.keep_log()
        if "val_loss" in trainer.callback_metrics:
            loss = float(trainer.callback_metrics["val_loss"])
            say(trainer, f"\ntrain: epoch {epochs_done(trainer):g} val_loss {loss:.4f}, checkpoint in"
                         f" {display_path(self.last_model_path)}")


def checkpoint_now(trainer: L.Trainer) -> dict[str, Any]:
    """The checkpoint Lightning would write at this moment. Lightning has no public call for it outside
    its own saving (which waits for every process: after Ctrl-C some may be gone), so this is the one
    place that uses its private checkpoint connector."""
    return trainer._checkpoint_connector.dump_checkpoint()


class Preview(Callback):
    """At each validation, a short text from the model as it is then (the prompt, `chars` characters at
    `temperature`, a fixed seed): printed, and added to `path` (Markdown) when given, so the run shows
    the model learning to spell. It draws from its own random stream (numpy's, in charlm.sample.generate)
    and reads a copy of the weights: training goes exactly as without it."""

    def __init__(self, prompt: Sequence[int], vocab: Sequence[str], chars: int, temperature: float, seed: int,
                 path: Path | None) -> None:
        self.prompt = list(prompt)
        self.vocab = list(vocab)
        self.chars = chars
        self.temperature = temperature
        self.seed = seed
        self.path = path

    def on_fit_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.is_global_zero and self.path is not None and trainer.ckpt_path is None:
            self.path.unlink(missing_ok=True)  # a fresh run: the samples of an earlier one go

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        weights = {k: v.detach().float().cpu() for k, v in module.state_dict().items()}
        model = Checkpoint(weights, SimpleNamespace(**module.hparams), self.vocab)
        text = decode(self.prompt, self.vocab) + decode(
            generate(model, self.prompt, [self.temperature], self.chars, self.seed)[0], self.vocab)
        loss = float(trainer.callback_metrics["val_loss"])
        head = f"epoch {epochs_done(trainer):g}, step {trainer.global_step:,}, val_loss {loss:.4f}"
        say(trainer, f"train: sample at {head}:\n{text}")
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(f"## {head}\n\n~~~~text\n{text}\n~~~~\n\n")


class InterruptCheckpoint(Callback):
    """On Ctrl-C or SIGTERM, the first process saves last.ckpt as of now (without waiting for the others,
    which may be gone), so the next `dvc repro` resumes from there. Runs after History has stopped
    its clock (it comes later in the callback list)."""

    def __init__(self, run: RunDir) -> None:
        self.run = run

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, (KeyboardInterrupt, SIGTERMException)) and trainer.is_global_zero:
            trainer.strategy.checkpoint_io.save_checkpoint(checkpoint_now(trainer), self.run.last)
            self.run.keep_log()
            print(f"\ntrain: interrupted in epoch {trainer.current_epoch + 1}; saved a resumable checkpoint, "
                  "run `dvc repro` again to continue", flush=True)
