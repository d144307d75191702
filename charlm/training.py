"""Fit LitCharRNN on prepared data with Lightning, in a run directory that survives interruption.

    Trainer (one process, or DDP: `train.devices`, `num_nodes`, `strategy`)
    -> RunDir.start(fingerprint) -> resume from its last.ckpt if params and data are unchanged
    -> fit: validate every `val_check_interval`; EarlyStopping(val_loss) and ModelCheckpoint(best,
       last) at every validation; Budget: the time cap and the wsd decay
    -> best.ckpt and the metrics of the run, with val_loss_stateful of the best model

Under DDP every process runs this code: `CharDataModule` gives each its shard of the windows, the
losses are reduced across processes, and only the first process (`trainer.is_global_zero`) writes
the run directory, prints, and returns the metrics.

The validation loss is the mean cross-entropy (nats per character) over the whole validation text
cut into back-to-back windows of `maxlen` characters, every position predicted (`datamodule.val_batches`),
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
import os
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
from lightning.pytorch.utilities.exceptions import MisconfigurationException, SIGTERMException

from charlm.config import Model, Train
from charlm.data import highest_code, load_split, load_vocab, n_windows
from charlm.datamodule import CharDataModule
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

    def resumable(self, fingerprint: dict[str, Any], resume: bool = True) -> Path | None:
        """last.ckpt of an interrupted run with the same fingerprint, else None; changes nothing, so every
        process of a distributed run can ask while the first one clears the directory."""
        try:
            same = json.loads(self._fingerprint.read_text()) == fingerprint
        except (OSError, ValueError):  # no run, or one being cleared
            return None
        return self.last if resume and same and self.last.is_file() else None

    def start(self, fingerprint: dict[str, Any], resume: bool = True) -> Path | None:
        """last.ckpt of an interrupted run with the same fingerprint, else None (and the old run is cleared)."""
        if self.last.is_file() and self._fingerprint.is_file():
            if self.resumable(fingerprint, resume):
                print(f"train: resuming the interrupted run from {self.last}")
                if self.log_dir and self._log_copy.is_dir():
                    copy_dir(self._log_copy, self.log_dir)
                return self.last
            if not resume:
                print("train: train.resume is false: starting fresh")
            else:
                before = json.loads(self._fingerprint.read_text())
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
    data = {name: sha256(Path(data_dir) / name) for name in ("vocab.json", "train.npy", "val.npy")}
    caps = ("resume", "max_time") if train.schedule == "cosine" else ("resume", "max_epochs", "max_time")
    knobs = {k: v for k, v in asdict(train).items() if k not in (*caps, "threads")}  # cosine spans max_epochs
    return {"model": asdict(model), "train": knobs, "seed": seed, "data": data}


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()  # in chunks: a split may be larger than memory


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
    and, on Ctrl-C or SIGTERM, a resumable checkpoint. In a distributed run each process counts its own
    windows (`by_process`, gathered at the end); the first process keeps the log and the clock."""

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
        say(trainer, f"train: training from epoch {trainer.current_epoch + 1}, {trainer.num_training_batches:,}"
                     f" batches per epoch{processes}")

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.is_global_zero:
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
        if trainer.is_global_zero:
            self.run.keep_log()

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.by_process = trainer.strategy.all_gather(torch.tensor(self.windows)).reshape(-1).tolist()

    def state_dict(self) -> dict[str, Any]:
        return {"validations": self.validations, "train_seconds": self.clock.seconds, "windows": self.windows,
                "predictions": self.predictions}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.validations, self.clock = state["validations"], Stopwatch(state["train_seconds"])
        self.windows, self.predictions = state["windows"], state["predictions"]
        self.resumed_after = self.validations[-1]["epoch"] if self.validations else 0.0

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception: BaseException) -> None:
        """Ctrl-C or SIGTERM: keep what was learnt so far in last.ckpt for the next run to resume from."""
        if isinstance(exception, (KeyboardInterrupt, SIGTERMException)) and trainer.is_global_zero:
            self.clock.stop()  # the other processes may be gone: the first one saves without waiting for them
            checkpoint = trainer._checkpoint_connector.dump_checkpoint()
            trainer.strategy.checkpoint_io.save_checkpoint(checkpoint, self.run.last)
            self.run.keep_log()
            print(f"\ntrain: interrupted in epoch {trainer.current_epoch + 1}; saved a resumable checkpoint, "
                  "run `dvc repro` again to continue", flush=True)


def say(trainer: L.Trainer, line: str) -> None:
    """A line for the user from the first process only (each process runs the callbacks)."""
    if trainer.is_global_zero:
        print(line, flush=True)


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
        if trainer.is_global_zero:
            self.run.keep_log()
        if "val_loss" in trainer.callback_metrics:
            loss = float(trainer.callback_metrics["val_loss"])
            say(trainer, f"\ntrain: epoch {epochs_done(trainer):g} val_loss {loss:.4f}, checkpoint in"
                         f" {shown(self.last_model_path)}")


class Budget(Callback):
    """The time cap (`train.max_time`, counted over every process that worked on the run), and, for the
    `wsd` schedule, when its decay starts: at step `decay_start` if set; else when val_loss has not
    improved for `decay_patience` validations, or when 95% of (1 - decay) of the budget is spent
    (`max_time`, else `max_epochs`). The decay lasts decay / (1 - decay) times the steps before it, so
    at an even pace it ends within the budget, and the run can be repeated exactly with the
    `decay_start` it reports. `clock` is read once per training batch; a test passes one that counts
    batches instead of seconds. In a distributed run the first process's clock decides for all (they
    must stop, and change their learning rate, at the same step)."""

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
        say(trainer, f"\ntrain: learning rate decays from step {start:,} over {schedule.steps:,} steps ({reason})")

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
        self.seconds = trainer.strategy.broadcast(self.spent + self.clock() - self.since)
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


def precision(cfg: Train) -> str:
    """Lightning's precision for `train.precision`: `auto` is bf16-mixed where the device computes bfloat16
    natively (a GPU that has it; a CPU with AVX-512 BF16 or AMX: measured 1.45x fp32 in the bench), else 32-true."""
    gpu = cfg.accelerator == "gpu" or (cfg.accelerator == "auto" and torch.cuda.is_available())
    native = torch.cuda.is_bf16_supported() if gpu else torch.ops.mkldnn._is_mkldnn_bf16_supported()
    if cfg.precision == "auto":
        return "bf16-mixed" if native else "32-true"
    if cfg.precision == "bf16-mixed" and not native:
        where = ("a GPU with bfloat16" if gpu
                 else "a CPU with AVX-512 BF16 or AMX (oneDNN has no bfloat16 LSTM on this one)")
        raise CharlmError(f"train.precision=bf16-mixed needs {where}: use 32-true or auto")
    return cfg.precision


def trainer_for(cfg: Train, callbacks: list[Callback], progress: bool) -> L.Trainer:
    try:
        return L.Trainer(
            accelerator=cfg.accelerator, devices=cfg.devices, num_nodes=cfg.num_nodes, strategy=cfg.strategy,
            use_distributed_sampler=False,  # CharDataModule shards the windows itself
            deterministic=True, logger=False, callbacks=callbacks, max_epochs=cfg.max_epochs or -1,
            val_check_interval=cfg.val_check_interval, gradient_clip_val=cfg.grad_clip, num_sanity_val_steps=0,
            enable_progress_bar=progress, precision=precision(cfg), plugins=[AtomicCheckpointIO()],
        )
    except MisconfigurationException as e:  # e.g. accelerator gpu on a machine without one
        raise CharlmError(f"train.accelerator={cfg.accelerator}, train.devices={cfg.devices}: {e}") from None


def use_threads(threads: int | None) -> None:
    """`train.threads`: torch's threads in each process; OMP_NUM_THREADS carries the number to the processes
    DDP starts (and keeps Lightning from choosing). None: torch's default, the cores, which Lightning divides
    among the processes DDP starts on a machine."""
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)


def check_data(data_dir: Path, maxlen: int) -> int:
    """Refuse missing data, codes outside the vocabulary, or splits too short for one window (maxlen
    inputs and a target); the validation split's length."""
    vocab = load_vocab(data_dir)
    lengths = {}
    for name, split in (("training", "train"), ("validation", "val")):
        lengths[name] = len(load_split(data_dir, split))
        if (highest := highest_code(data_dir, split)) >= len(vocab):
            raise CharlmError(f"the {name} split has character codes up to {highest} but the vocabulary"
                              f" has {len(vocab)} characters: rerun the prepare stage (dvc repro -f prepare)")
    for name, n in lengths.items():
        if n < maxlen + 1:
            raise CharlmError(f"the {name} split has {n:,} characters; model.maxlen={maxlen} needs at least"
                              f" {maxlen + 1:,} (a window and its target): lower model.maxlen or use a longer corpus")
    return lengths["validation"]


def fit(model_cfg: Model, train_cfg: Train, seed: int, data_dir: Path, run: RunDir,
        logger: Callable[[bool], Logger] | None = None, progress: bool = True,
        clock: Callable[[], float] = time.monotonic) -> tuple[Path, dict[str, Any]] | None:
    """Train in `run`, resuming its interrupted run if params and data are unchanged; the best checkpoint's
    path and the run's metrics. In a distributed run only the first process returns them (the others
    return None: one process writes outputs). `logger(resumed)` makes the logger once that is known;
    `clock` measures the time budget (a test passes one that counts steps)."""
    L.seed_everything(seed, workers=True, verbose=False)
    use_threads(train_cfg.threads)
    idx2char = load_vocab(data_dir)
    val_chars = check_data(data_dir, model_cfg.maxlen)
    data = CharDataModule(data_dir, model_cfg.maxlen, train_cfg.step, train_cfg.batch_size, train_cfg.objective,
                          train_cfg.carry_state, seed)
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
        trainer = trainer_for(train_cfg, callbacks, progress)
        per_process = len(data.train_set) // (train_cfg.batch_size * trainer.world_size)
        trainer.log_every_n_steps = max(1, min(50, per_process // 4))  # the lr curve
        if len(data.train_set) < trainer.world_size:
            raise CharlmError(f"{len(data.train_set)} training windows for {trainer.world_size} processes: use a longer"
                              " corpus or fewer train.devices")
        fp = fingerprint(model_cfg, train_cfg, seed, data_dir)  # every process decides; the first one clears
        resume_from = run.start(fp, train_cfg.resume) if trainer.is_global_zero else run.resumable(fp, train_cfg.resume)
        if logger:
            trainer.logger = logger(resume_from is not None)
        try:
            trainer.fit(model, datamodule=data, ckpt_path=resume_from)
        except SIGTERMException:
            raise CharlmError("terminated (SIGTERM) during training; run `dvc repro` again to resume") from None
    if not history.validations:
        raise CharlmError("training stopped before the first validation: raise train.max_time or train.max_epochs")
    if not trainer.is_global_zero:
        return None
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
        "precision": trainer.precision,
        "resumed_after_epoch": history.resumed_after,
        "processes": trainer.world_size,
        "threads_per_process": torch.get_num_threads(),
        "train_windows": len(data.train_set),
        "train_batches_per_epoch": trainer.num_training_batches,  # per process
        "windows_by_process": history.by_process,
        "val_predictions": n_windows(val_chars, model_cfg.maxlen, model_cfg.maxlen) * model_cfg.maxlen,
        "train_seconds": round(history.clock.seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "windows_per_second": round(sum(history.by_process) / seconds),
        "predicted_chars_per_second": round(history.predictions * trainer.world_size / seconds),
    }


def stopped_by(early: EarlyStopping, budget: Budget) -> str:
    if early.stopping_reason != EarlyStoppingReason.NOT_STOPPED:
        return "early_stopping"
    return "max_time" if budget.timed_out else "max_epochs"
