"""Fit LitCharRNN on prepared data with Lightning, in a run folder that survives interruption.

    check the data -> Trainer (one process, or DDP: train.devices, num_nodes, strategy)
    -> RunDir.start: resume from its last.ckpt if params and data are unchanged
    -> fit: validate every `val_check_interval`; EarlyStopping(val_loss), best and last checkpoints,
       the time cap, the wsd decay and the end of the run when it ends (charlm.train.callbacks)
    -> the best checkpoint and the run's metrics (`run_metrics`): the best validation and how the run
       went (the test text is the evaluate stage's: training never reads it)

Under DDP every process runs this code: `CharDataModule` gives each its shard of the windows, the
losses are reduced across processes, and only the first process (`trainer.is_global_zero`) writes
the run folder, prints, and returns the metrics.

The validation loss is the mean cross-entropy (nats per character) over the whole validation text
cut into back-to-back blocks of 40 characters (SCORE_BLOCK), every position predicted, so it depends
neither on `model.maxlen`, `train.step`, the batch size nor `train.objective`: all runs compare directly.
`val_loss_stateful` reads the validation text once, carrying the LSTM's state, so each character is
predicted from all the text before it; a sequential pass, so it is computed once, for the best model.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, LearningRateMonitor
from lightning.pytorch.callbacks.early_stopping import EarlyStoppingReason
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities.exceptions import SIGTERMException

from charlm.errors import CharlmError
from charlm.model.checkpoint import Checkpoint
from charlm.model.lstm import LitCharRNN
from charlm.model.network import parameter_count
from charlm.model.transplant import check_shape, transplant
from charlm.params.schema import ModelParams, TrainParams
from charlm.sample.prompt import PROMPT_SEARCH, default_prompt, encode_prompt
from charlm.text.splits import (
    SCORE_BLOCK,
    check_codes,
    check_scored,
    load_split,
    load_text,
    load_vocab,
    n_windows,
)
from charlm.train.average import MovingAverage
from charlm.train.batches import CharDataModule
from charlm.train.callbacks import (
    History,
    InterruptCheckpoint,
    Preview,
    ReportingCheckpoint,
    TimeLimit,
    epochs_done,
)
from charlm.train.decay import DecayTrigger, EarlyStoppingBeforeDecay
from charlm.train.rundir import RunDir, fingerprint
from charlm.train.schedules import WarmupStableDecay
from charlm.train.trainer import make_trainer, quiet_lightning, sigterm_to_lightning, use_threads

BYTES_PER_PARAMETER = 16  # fp32 weights, their gradients and AdamW's two moments


def check_data(data_dir: Path, maxlen: int) -> int:
    """Refuse missing data, codes outside the vocabulary, a training split too short for one window
    (maxlen inputs and a target) or a validation split too short for one scored block; the validation
    split's length. The test split is the evaluate stage's alone."""
    vocab_size = len(load_vocab(data_dir))
    if (n := check_codes(data_dir, "train", vocab_size)) < maxlen + 1:
        raise CharlmError(f"the training split has {n:,} characters; model.maxlen={maxlen} needs at least"
                          f" {maxlen + 1:,} (a window and its target): lower model.maxlen or use a longer"
                          " corpus")
    return check_scored(data_dir, "val", vocab_size)


def check_interval(every: float | int, batches: int) -> None:
    """A count of batches between validations must fit in an epoch (Lightning would refuse it later)."""
    if isinstance(every, int) and every > batches:
        raise CharlmError(f"train.val_check_interval={every} batches is more than an epoch's {batches:,}:"
                          " lower it, or give a share of an epoch (e.g. 0.25)")


def check_size(cfg: ModelParams, vocab_size: int) -> None:
    """Refuse a model whose training state cannot fit in this machine's memory, before allocating it."""
    count = parameter_count(SimpleNamespace(vocab_size=vocab_size, **cfg.model_dump()))
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if count * BYTES_PER_PARAMETER > memory:
        needs = count * BYTES_PER_PARAMETER / 1e9
        raise CharlmError(f"the model would have {count:,} parameters ({needs:,.0f} GB to train), more"
                          f" than this machine's {memory / 1e9:,.0f} GB: lower model.hidden_size,"
                          " model.embed_dim or model.num_layers")


@dataclass
class Callbacks:
    """The callbacks of one fit, by role (`all` in the order Lightning calls them)."""

    history: History
    time_limit: TimeLimit
    early: EarlyStoppingBeforeDecay
    best: ReportingCheckpoint
    trigger: DecayTrigger | None
    all: list[Callback]


def preview_for(cfg: TrainParams, data_dir: Path, maxlen: int, seed: int, run: RunDir) -> list[Callback]:
    """The sample at each validation, from the start of the validation text (as the sample stage's)."""
    if not cfg.preview_chars:
        return []
    vocab = load_vocab(data_dir)
    prompt = encode_prompt(default_prompt(load_text(data_dir, "val", PROMPT_SEARCH), maxlen), vocab)
    path = run.log_dir / "samples.md" if run.log_dir else None
    return [Preview(prompt.tolist(), vocab, cfg.preview_chars, cfg.preview_temperature, seed, path)]


def callbacks_for(cfg: TrainParams, run: RunDir, schedule: WarmupStableDecay | None,
                  preview: list[Callback], logged: bool, clock: Callable[[], float]) -> Callbacks:
    # preview first: its time counts as validation's; History next: its clock stops before
    # InterruptCheckpoint saves
    history = History(run)
    time_limit = TimeLimit(cfg.max_time, clock)
    trigger = DecayTrigger(cfg, schedule, time_limit) if schedule else None
    early = EarlyStoppingBeforeDecay(cfg.patience, trigger)
    best = ReportingCheckpoint(run)
    triggers = [trigger] if trigger else []
    # the average scores validation and fills the checkpoints' weights (the preview writes with the last
    # weights); first, so that after an interruption in validation it swaps back before anything saves
    average = [MovingAverage(cfg.ema)] if cfg.ema else []
    ordered = [*average, *preview, history, time_limit, *triggers, early, best, InterruptCheckpoint(run)]
    if logged:
        ordered.append(LearningRateMonitor(logging_interval="step"))
    return Callbacks(history, time_limit, early, best, trigger, ordered)


def optimisation(cfg: TrainParams) -> dict[str, float]:
    """The train params LitCharRNN keeps among its hyperparameters."""
    return {"lr": cfg.lr, "weight_decay": cfg.weight_decay, "carry_state": cfg.carry_state}


def fit(model_cfg: ModelParams, train_cfg: TrainParams, seed: int, data_dir: Path, run: RunDir,
        logger: Callable[[bool], Logger] | None = None, progress: bool = True,
        clock: Callable[[], float] = time.monotonic,
        init: Checkpoint | None = None) -> tuple[Path, dict[str, Any]] | None:
    """Train in `run`, resuming its interrupted run if params and data are unchanged; the best checkpoint's
    path and the run's metrics. In a distributed run only the first process returns them (the others
    return None: one process writes outputs). `logger(resumed)` makes the logger once that is known;
    `clock` measures the time budget (a test passes one that counts steps); `init` (train.init_from's
    checkpoint) gives the starting weights."""
    started = time.perf_counter()
    L.seed_everything(seed, workers=True, verbose=False)
    use_threads(train_cfg.threads)
    idx2char = load_vocab(data_dir)
    val_chars = check_data(data_dir, model_cfg.maxlen)
    check_size(model_cfg, len(idx2char))
    if init is not None:
        check_shape(init, model_cfg, train_cfg.init_from)
    data = CharDataModule(data_dir, model_cfg, train_cfg, seed)
    schedule = WarmupStableDecay() if train_cfg.schedule == "wsd" else None
    preview = preview_for(train_cfg, data_dir, model_cfg.maxlen, seed, run)
    parts = callbacks_for(train_cfg, run, schedule, preview, logger is not None, clock)
    with quiet_lightning():
        trainer = make_trainer(train_cfg, parts.all, progress)
        batches = data.batches_per_epoch(trainer.world_size)  # per process
        check_interval(train_cfg.val_check_interval, batches)
        if schedule:  # complete before the optimiser exists: LambdaLR evaluates step 0 when it is built
            schedule.warmup = round(train_cfg.warmup * batches)
        trainer.log_every_n_steps = max(1, min(50, batches // 4))  # the lr curve
        model = LitCharRNN(len(idx2char), **model_cfg.model_dump(), **optimisation(train_cfg), vocab=idx2char,
                           lr_schedule=schedule)
        fresh = transplant(model, idx2char, init, load_split(data_dir, "train")) if init is not None else []
        # every process decides; the first one clears
        fp = fingerprint(model_cfg, train_cfg, seed, data_dir, init)
        first = trainer.is_global_zero
        resume_from = (run.start if first else run.resumable)(fp, model, train_cfg.resume)
        if logger:
            trainer.logger = logger(resume_from is not None)
        try:
            with sigterm_to_lightning():
                trainer.fit(model, datamodule=data, ckpt_path=resume_from)
        except SIGTERMException:
            raise CharlmError("terminated (SIGTERM) during training; run `dvc repro` again to"
                              " resume") from None
        except SystemExit:  # Lightning's exit(1) once it has shut down after Ctrl-C: an interrupt (130)
            raise KeyboardInterrupt from None
    if not parts.history.validations:
        raise CharlmError("training stopped before the first validation: raise train.max_time or"
                          " train.max_epochs")
    if not first:
        return None
    started_from = {"init_from": train_cfg.init_from, "init_new_characters": len(fresh) if init else None}
    return Path(parts.best.best_model_path), {**run_metrics(trainer, parts, data, val_chars, started),
                                              **started_from}


def stopped_by(parts: Callbacks) -> str:
    if parts.early.stopping_reason != EarlyStoppingReason.NOT_STOPPED:
        return "early_stopping"
    if parts.trigger and parts.trigger.finished:
        return "decay"
    return "max_time" if parts.time_limit.timed_out else "max_epochs"


def run_metrics(trainer: L.Trainer, parts: Callbacks, data: CharDataModule, val_chars: int,
                started: float) -> dict[str, Any]:
    """metrics/train.json: the best validation, the stateful validation loss of the best model, how the
    run ended, and how it ran (processes, speed; `started`: perf_counter at the start of the fit)."""
    history = parts.history
    schedule = parts.trigger.schedule if parts.trigger else None
    top = min(history.validations, key=lambda v: v["val_loss"])
    best_model = LitCharRNN.load_from_checkpoint(parts.best.best_model_path, weights_only=True)
    seconds = max(history.clock.seconds, 1e-9)
    return {
        "val_loss": round(top["val_loss"], 4),
        "val_loss_stateful": round(best_model.stateful_loss(load_split(data.data_dir, "val")), 4),
        "val_bpc": round(top["val_loss"] / math.log(2), 4),
        "val_acc": round(top["val_acc"], 4),
        "uniform_loss": round(math.log(best_model.hparams.vocab_size), 4),
        "best_epoch": top["epoch"],
        "best_step": top["step"],
        "epochs": epochs_done(trainer),
        "validations": len(history.validations),
        "stopped_by": stopped_by(parts),
        "decay_start_step": schedule.start if schedule else None,
        "decay_steps": schedule.steps if schedule and schedule.start is not None else None,
        "decay_reason": parts.trigger.reason if parts.trigger else None,
        "final_lr": trainer.optimizers[0].param_groups[0]["lr"],
        "precision": trainer.precision,
        "resumed_after_epoch": history.resumed_after,
        "processes": trainer.world_size,
        "threads_per_process": torch.get_num_threads(),
        "train_windows": len(data.train_set),
        "train_batches_per_epoch": trainer.num_training_batches,  # per process
        "windows_by_process": history.by_process,
        "val_predictions": n_windows(val_chars, SCORE_BLOCK, SCORE_BLOCK) * SCORE_BLOCK,
        "train_seconds": round(history.clock.seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "windows_per_second": round(sum(history.by_process) / seconds),
        "predicted_chars_per_second": round(history.predictions * trainer.world_size / seconds),
    }
