"""Fit LitCharRNN on prepared data with Lightning, in a run directory that survives interruption.

    RunDir.start(fingerprint) -> resume from its last.ckpt if params and data are unchanged
    -> fit: validate every `val_check_interval` of an epoch; EarlyStopping(val_loss) and
       ModelCheckpoint(best, last) at every validation; Budget: the time cap and the wsd decay
    -> best.ckpt and the metrics of the run, with val_loss_stateful of the best model

The validation loss is the mean cross-entropy (nats per character) over the whole validation text
cut into back-to-back windows of `maxlen` characters, every position predicted (`data.val_batches`),
so it depends neither on `train.step`, the batch size nor `train.objective`: all runs compare directly.
`val_loss_stateful` reads the validation text once, carrying the LSTM's state, so each character is
predicted from all the text before it. It is a sequential pass (seconds on Shakespeare), so it is
computed once, for the best model; early stopping and the best checkpoint watch `val_loss`, which is
cheap enough to compute several times per epoch and moves with it."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.callbacks.early_stopping import EarlyStoppingReason
from lightning.pytorch.loggers import Logger
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import SIGTERMException

from charlm.config import Model, Train
from charlm.data import CharDataset, batches, load_split, load_vocab, n_windows, stream_batches, val_batches
from charlm.errors import CharlmError
from charlm.files import atomic_path, copy_dir, shown, write_json
from charlm.model import LitCharRNN, WarmupStableDecay


class Stopwatch:
    """Seconds spent between start() and stop(), summed over any number of laps; repeated calls are no-ops."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds, self._since = seconds, None

    def start(self) -> None:
        if self._since is None:
            self._since = time.perf_counter()

    def stop(self) -> None:
        if self._since is not None:
            self.seconds += time.perf_counter() - self._since
            self._since = None


class RunDir:
    """A resumable run on disk: Lightning checkpoints, the fingerprint of what the run depends on, and
    a copy of the logger's directory as it was at the last checkpoint (the logger's own files may be
    deleted between runs, e.g. by `dvc repro`, and are put back on resume)."""

    def __init__(self, path: Path, log_dir: Path | None = None) -> None:
        self.path, self.log_dir = Path(path), log_dir
        self.checkpoints = self.path / "checkpoints"
        self.last = self.checkpoints / "last.ckpt"
        self._fingerprint, self._log_copy = self.path / "fingerprint.json", self.path / "log"

    def start(self, fingerprint: dict[str, Any], resume: bool = True) -> Path | None:
        """last.ckpt of an interrupted run with the same fingerprint, else None (and the old run is cleared)."""
        if self.last.is_file() and self._fingerprint.is_file():
            before = json.loads(self._fingerprint.read_text())
            if not resume:
                print("train: train.resume is false: starting fresh")
            elif before == fingerprint:
                print(f"train: resuming the interrupted run from {self.last}")
                if self.log_dir and self._log_copy.is_dir():
                    copy_dir(self._log_copy, self.log_dir)
                return self.last
            else:
                changed = sorted(k for k in fingerprint if before.get(k) != fingerprint[k])
                print(f"train: starting fresh: {', '.join(changed)} changed since the interrupted run")
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        write_json(self._fingerprint, fingerprint)
        return None

    def keep_log(self) -> None:
        if self.log_dir and self.log_dir.is_dir():
            copy_dir(self.log_dir, self._log_copy)

    def finish(self) -> None:
        shutil.rmtree(self.path)


def fingerprint(model: Model, train: Train, seed: int, data_dir: Path) -> dict[str, Any]:
    """What a run depends on: resuming is only safe when all of it is unchanged."""
    data = {name: hashlib.sha256((Path(data_dir) / name).read_bytes()).hexdigest()
            for name in ("vocab.json", "train.npy", "val.npy")}
    caps = ("resume", "max_time") if train.schedule == "cosine" else ("resume", "max_epochs", "max_time")
    knobs = {k: v for k, v in asdict(train).items() if k not in caps}  # cosine spans max_epochs: part of the run
    return {"model": asdict(model), "train": knobs, "seed": seed, "data": data}


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints through charlm's atomic writes: Lightning's own goes through a temp file in /tmp,
    which is copied (not renamed) onto a disk other than /tmp's, and it ignores a PermissionError.
    A full disk or a read-only folder is then a one-line error, and last.ckpt stays the last good one."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)  # torch's own file writer reports a full disk as a RuntimeError
        with atomic_path(Path(path)) as tmp:
            tmp.write_bytes(buffer.getbuffer())


class History(Callback):
    """Every validation's results, the time and windows of training proper (validation not counted),
    and, on Ctrl-C or SIGTERM, a resumable checkpoint."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.validations: list[dict[str, float]] = []
        self.clock = Stopwatch()
        self.windows = 0
        self.predictions = 0  # characters predicted: windows x maxlen with the "every" objective
        self.resumed_after = 0.0  # epochs trained before this process took over

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.clock.start()  # also after a mid-epoch resume, where Lightning skips on_train_epoch_start
        print(f"train: training from epoch {trainer.current_epoch + 1}, {trainer.num_training_batches:,} batches"
              " per epoch", flush=True)

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.run.keep_log()  # the log as of the last checkpoint, for a resume (now with last epoch's train row)
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
        self.run.keep_log()

    def state_dict(self) -> dict[str, Any]:
        return {"validations": self.validations, "train_seconds": self.clock.seconds, "windows": self.windows,
                "predictions": self.predictions}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.validations, self.clock = state["validations"], Stopwatch(state["train_seconds"])
        self.windows, self.predictions = state["windows"], state["predictions"]
        self.resumed_after = self.validations[-1]["epoch"] if self.validations else 0.0

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception: BaseException) -> None:
        """Ctrl-C or SIGTERM: keep what was learnt so far in last.ckpt for the next run to resume from."""
        if isinstance(exception, (KeyboardInterrupt, SIGTERMException)):
            self.clock.stop()
            trainer.save_checkpoint(self.run.last)
            self.run.keep_log()
            print(f"\ntrain: interrupted in epoch {trainer.current_epoch + 1}; saved a resumable checkpoint, "
                  "run `dvc repro` again to continue")


def epochs_done(trainer: L.Trainer) -> float:
    """Training progress in epochs (2.25: a quarter into the third)."""
    return round(trainer.global_step / max(1, trainer.num_training_batches), 2)


class ReportingCheckpoint(ModelCheckpoint):
    """ModelCheckpoint (best and last, at every validation) that keeps the run's log as of each
    checkpoint and says when it has written: a line for the user, and an event for whoever waits for
    a checkpoint (the resume test)."""

    def __init__(self, run: RunDir, **kwargs: Any) -> None:
        super().__init__(dirpath=run.checkpoints, **kwargs)
        self.run = run

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        super().on_validation_end(trainer, module)
        self.run.keep_log()
        if "val_loss" in trainer.callback_metrics:
            print(f"\ntrain: epoch {epochs_done(trainer):g} val_loss {float(trainer.callback_metrics['val_loss']):.4f},"
                  f" checkpoint in {shown(self.last_model_path)}", flush=True)


class Budget(Callback):
    """The time cap (`train.max_time`, counted over every process that worked on the run), and, for the
    `wsd` schedule, when its decay starts: at step `decay_start` if set; else when val_loss has not
    improved for `decay_patience` validations, or when 95% of (1 - decay) of the budget is spent
    (`max_time`, else `max_epochs`). The decay lasts decay / (1 - decay) times the steps before it, so
    at an even pace it ends within the budget, and the run can be repeated exactly with the
    `decay_start` it reports. `clock` is read once per training batch; a test passes one that counts
    batches instead of seconds."""

    def __init__(self, cfg: Train, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg, self.clock = cfg, clock
        self.limit = cfg.max_time * 60 if cfg.max_time else None
        self.spent, self.since = 0.0, 0.0  # seconds before this process took over; its clock when it did
        self.seconds = 0.0  # spent on the run, as of the last batch
        self.best, self.stalls = math.inf, 0
        self.decay_reason: str | None = None
        self.timed_out = False

    def schedule(self, trainer: L.Trainer) -> WarmupStableDecay | None:
        if self.cfg.schedule != "wsd":
            return None
        return trainer.lr_scheduler_configs[0].scheduler.lr_lambdas[0]

    def length(self, start: int) -> int:
        """Steps of a decay that starts at step `start`: the decay's share of the run."""
        return max(1, round(start * self.cfg.decay / (1 - self.cfg.decay)))

    def decay(self, trainer: L.Trainer, reason: str, start: int) -> None:
        schedule = self.schedule(trainer)
        if schedule is None or schedule.start is not None:
            return
        schedule.start, schedule.steps = start, self.length(start)
        self.decay_reason = reason
        print(f"\ntrain: learning rate decays from step {start:,} over {schedule.steps:,} steps ({reason})", flush=True)

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.since, self.seconds = self.clock(), self.spent
        schedule = self.schedule(trainer)
        if schedule is not None and trainer.global_step == 0:
            schedule.warmup = round(self.cfg.warmup * trainer.num_training_batches)  # a share of the first epoch
        if self.cfg.decay_start is not None:
            self.decay(trainer, "decay_start", self.cfg.decay_start)

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        step = trainer.global_step
        self.seconds = self.spent + self.clock() - self.since
        if self.limit is not None and self.seconds >= self.limit:
            trainer.should_stop, self.timed_out = True, True
        if self.limit is not None and self.seconds >= 0.95 * (1 - self.cfg.decay) * self.limit:
            self.decay(trainer, "max_time", step)
        if self.cfg.max_epochs and step + 1 + self.length(step + 1) > self.cfg.max_epochs * trainer.num_training_batches:
            self.decay(trainer, "max_epochs", step)  # the last step whose decay still ends within max_epochs

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        loss = float(trainer.callback_metrics["val_loss"])
        self.best, self.stalls = (loss, 0) if loss < self.best else (self.best, self.stalls + 1)
        if self.stalls >= self.cfg.decay_patience:
            self.decay(trainer, "plateau", trainer.global_step)

    def state_dict(self) -> dict[str, Any]:
        return {"spent": self.seconds, "best": self.best, "stalls": self.stalls, "decay_reason": self.decay_reason}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.spent, self.best, self.stalls = state["spent"], state["best"], state["stalls"]
        self.decay_reason = state["decay_reason"]


def _no_tip(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("💡")


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Without Lightning's advice that does not apply here (workers for in-memory data, cloud products,
    an internal deprecation), so errors and what matters stand out on stderr."""
    log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    log.addFilter(_no_tip)
    try:
        with warnings.catch_warnings():
            for message in ("does not have many workers", r"isinstance\(treespec, LeafSpec\)",
                            "smaller than the logging interval", "not supported by the model summary"):
                warnings.filterwarnings("ignore", message=f".*{message}")
            yield
    finally:
        log.removeFilter(_no_tip)


def precision(setting: str) -> str:
    """Lightning's precision for `train.precision`: `auto` is bf16-mixed where oneDNN computes bfloat16
    natively (AVX-512 BF16 or AMX; measured 1.45x fp32 in the bench), else 32-true."""
    native = torch.cuda.is_available() or torch.ops.mkldnn._is_mkldnn_bf16_supported()
    if setting == "auto":
        return "bf16-mixed" if native else "32-true"
    if setting == "bf16-mixed" and not native:
        raise CharlmError("train.precision=bf16-mixed needs a CPU with AVX-512 BF16 or AMX (oneDNN has no bfloat16"
                          " LSTM on this one): use 32-true or auto")
    return setting


def check_data(data_dir: Path, maxlen: int) -> int:
    """Refuse missing data, or splits too short for one window (maxlen inputs and a target); the
    validation split's length."""
    vocab = load_vocab(data_dir)
    splits = {"training": load_split(data_dir, "train"), "validation": load_split(data_dir, "val")}
    for name, codes in splits.items():
        if len(codes) and int(codes.max()) >= len(vocab):
            raise CharlmError(f"the {name} split has character codes up to {int(codes.max())} but the vocabulary"
                              f" has {len(vocab)} characters: rerun the prepare stage (dvc repro -f prepare)")
    lengths = {name: len(codes) for name, codes in splits.items()}
    for name, n in lengths.items():
        if n < maxlen + 1:
            raise CharlmError(f"the {name} split has {n:,} characters; model.maxlen={maxlen} needs at least"
                              f" {maxlen + 1:,} (a window and its target): lower model.maxlen or use a longer corpus")
    return lengths["validation"]


def fit(model_cfg: Model, train_cfg: Train, seed: int, data_dir: Path, run: RunDir, resume_from: Path | None = None,
        logger: Logger | bool = False, progress: bool = True, clock: Callable[[], float] = time.monotonic,
        ) -> tuple[Path, dict[str, Any]]:
    """Train in `run` (from `resume_from` if given); the best checkpoint's path and the run's metrics.
    `clock` measures the time budget (a test passes one that counts steps)."""
    L.seed_everything(seed, workers=True, verbose=False)
    mixed = precision(train_cfg.precision)
    idx2char = load_vocab(data_dir)
    val_chars = check_data(data_dir, model_cfg.maxlen)
    step = model_cfg.maxlen if train_cfg.carry_state else train_cfg.step  # streams read windows back to back
    train_set = CharDataset(data_dir, model_cfg.maxlen, step, split="train", objective=train_cfg.objective)
    train_batches = (stream_batches(train_set, train_cfg.batch_size) if train_cfg.carry_state
                     else batches(train_set, train_cfg.batch_size, shuffle=True))
    model = LitCharRNN(len(idx2char), lr=train_cfg.lr, schedule=train_cfg.schedule, warmup=train_cfg.warmup,
                       weight_decay=train_cfg.weight_decay, carry_state=train_cfg.carry_state, vocab=idx2char,
                       **asdict(model_cfg))
    history, budget = History(run), Budget(train_cfg, clock)
    early = EarlyStopping(monitor="val_loss", mode="min", patience=train_cfg.patience, check_on_train_epoch_end=False)
    best = ReportingCheckpoint(run, filename="best", monitor="val_loss", mode="min", save_top_k=1, save_last=True,
                               enable_version_counter=False, save_on_train_epoch_end=False)
    callbacks: list[Callback] = [history, budget, early, best]
    if logger:
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    started = time.perf_counter()
    with quiet_lightning():
        trainer = L.Trainer(
            accelerator="auto", devices=1, deterministic=True, logger=logger, callbacks=callbacks,
            max_epochs=train_cfg.max_epochs or -1, val_check_interval=train_cfg.val_check_interval,
            log_every_n_steps=max(1, min(50, len(train_batches) // 4)),  # the lr curve
            gradient_clip_val=train_cfg.grad_clip, num_sanity_val_steps=0, enable_progress_bar=progress,
            precision=mixed,
            use_distributed_sampler=False, plugins=[AtomicCheckpointIO()],
        )
        try:
            trainer.fit(model, train_batches, val_batches(data_dir, model_cfg.maxlen), ckpt_path=resume_from)
        except SIGTERMException:
            raise CharlmError("terminated (SIGTERM) during training; run `dvc repro` again to resume") from None
    if not history.validations:
        raise CharlmError("training stopped before the first validation: raise train.max_time or train.max_epochs")
    top = min(history.validations, key=lambda v: v["val_loss"])
    best_model = LitCharRNN.load_from_checkpoint(best.best_model_path, weights_only=True)
    stateful = best_model.stateful_loss(load_split(data_dir, "val"))
    seconds = max(history.clock.seconds, 1e-9)
    schedule = budget.schedule(trainer)
    return Path(best.best_model_path), {
        "val_loss": round(top["val_loss"], 4),
        "val_loss_stateful": round(stateful, 4),
        "val_bpc": round(top["val_loss"] / math.log(2), 4),
        "val_acc": round(top["val_acc"], 4),
        "uniform_loss": round(math.log(len(idx2char)), 4),
        "best_epoch": top["epoch"],
        "best_step": top["step"],
        "epochs": epochs_done(trainer),
        "validations": len(history.validations),
        "stopped_by": stopped_by(early, budget),
        "decay_start_step": schedule.start if schedule else None,
        "decay_reason": budget.decay_reason,
        "final_lr": trainer.optimizers[0].param_groups[0]["lr"],
        "precision": mixed,
        "resumed_after_epoch": history.resumed_after,
        "train_windows": len(train_set),
        "val_predictions": n_windows(val_chars, model_cfg.maxlen, model_cfg.maxlen) * model_cfg.maxlen,
        "train_seconds": round(history.clock.seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "windows_per_second": round(history.windows / seconds),
        "predicted_chars_per_second": round(history.predictions / seconds),
    }


def stopped_by(early: EarlyStopping, budget: Budget) -> str:
    if early.stopping_reason != EarlyStoppingReason.NOT_STOPPED:
        return "early_stopping"
    return "max_time" if budget.timed_out else "max_epochs"
