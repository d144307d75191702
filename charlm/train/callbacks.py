"""The Lightning callbacks of the train stage, one job each.

    History              every validation's results, the time and windows of training proper
    TimeLimit            train.max_time, over every process and every resumed part of the run
    ReportingCheckpoint  best.ckpt and last.ckpt at every validation, with a line for the user
    InterruptCheckpoint  on Ctrl-C or SIGTERM, last.ckpt as of now, for the next run to resume
    Preview              a short text at each validation, printed and kept in dvclive/samples.md

In a distributed run every process runs them; only the first one prints and keeps the run's log.
Their state goes into each checkpoint, so a resumed run carries on with it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

from charlm.files import display_path
from charlm.model.checkpoint import Checkpoint
from charlm.sample.generate import generate
from charlm.text.splits import decode
from charlm.train.rundir import RunDir


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
                  "run `dvc repro` again to continue", file=sys.stderr, flush=True)
