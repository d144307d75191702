"""Stage 3, train: an LSTM language model p(x[n+1] | x[n-maxlen+1..n]) with PyTorch Lightning.

    data/prepared -> CharDataset windows (train: one every `step` chars, val: back to back)
    -> LitCharRNN, Adam (constant or cosine learning rate), loss on the last or every position,
       EarlyStopping(val_loss) + ModelCheckpoint(best, last) + optional time cap
    -> models/best.ckpt, metrics/train.json, dvclive/ (per-epoch curves for `dvc plots`)

A run works in models/run/ (checkpoints after every epoch, DVCLive's files, a fingerprint of the
params and data). Only a finished run replaces the outputs, so a crash or Ctrl-C never leaves a
half-trained model for `sample`; the next `dvc repro` resumes from models/run/checkpoints/last.ckpt
when the params and data are the same (`train.resume: false` forces a fresh start).

The validation loss is the mean cross-entropy (nats per character) over the whole validation
text cut into back-to-back windows of `maxlen` characters, every position predicted, so each
character is predicted once from 1 to `maxlen` characters of context (nanoGPT's definition with
block_size = maxlen). It does not depend on `step`, batch size or `train.objective`, so all runs
compare directly.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
import warnings
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from dvclive.lightning import DVCLiveLogger
from lightning.pytorch.callbacks import Callback, EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

from stages.download import atomic_path, replace_dir, write_json
from stages.params import CharlmError, cli, load
from stages.prepare import OUT_DIR as DATA_DIR
from stages.prepare import CharDataset, load_vocab

MODEL_DIR = Path("models")
CHECKPOINT = MODEL_DIR / "best.ckpt"
WORK = "run"  # models/run: the run in progress
METRICS = Path("metrics/train.json")
LIVE_DIR = Path("dvclive")
EVAL_BATCH = 1024

State = tuple[torch.Tensor, torch.Tensor]


class LitCharRNN(L.LightningModule):
    """Embedding -> LSTM -> last hidden state -> Dropout -> Linear+ReLU -> Dropout -> Linear (logits).

    `every_logits` applies the same head to every hidden state (the `every` training objective).
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 128, dropout: float = 0.2,
                 lr: float = 5e-3, num_layers: int = 2, schedule: str = "constant", warmup: float = 0.0):
        super().__init__()
        self.save_hyperparameters()  # plain numbers only: the checkpoint loads with weights_only=True
        self.vocab: list[str] | None = None  # idx2char, set by train() and saved in checkpoints
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(hidden_size, hidden_size), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden_size, vocab_size),
        )

    def step(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Read (B, T) character indices on top of `state`: next-character logits (B, V) and the new state."""
        out, state = self.lstm(self.embed(x), state)
        return self.head(out[:, -1]), state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.step(x)[0]

    def every_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Next-character logits after every position of x: (B, T, V)."""
        return self.head(self.lstm(self.embed(x))[0])

    def _loss(self, batch: tuple[torch.Tensor, torch.Tensor], prefix: str) -> torch.Tensor:
        x, y = batch  # y: (B,) next characters (objective "last") or (B, T) after every position ("every")
        logits = self(x) if y.ndim == 1 else self.every_logits(x).flatten(0, 1)
        y = y.flatten()
        loss = F.cross_entropy(logits, y)
        if not torch.isfinite(loss):
            raise CharlmError(f"{prefix} loss is {loss.item()} at epoch {self.current_epoch + 1}, batch "
                              f"{self.trainer.fit_loop.epoch_loop.batch_idx + 1}: lower train.lr")
        self.log(f"{prefix}_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
        self.log(f"{prefix}_bpc", loss / math.log(2), on_step=False, on_epoch=True, batch_size=len(y))
        if prefix == "val":
            acc = (logits.argmax(-1) == y).float().mean()
            self.log("val_acc", acc, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._loss(batch, "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._loss(batch, "val")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["vocab"] = self.vocab  # so that sampling can refuse data with another vocabulary

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
        if self.hparams.schedule == "constant":
            return optimizer
        total = self.trainer.estimated_stepping_batches
        factor = partial(cosine, warmup=max(1, round(self.hparams.warmup * total)), total=total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": LambdaLR(optimizer, factor), "interval": "step"}}


def cosine(step: int, warmup: int, total: float) -> float:
    """Learning-rate factor: linear warm-up over `warmup` steps, then a cosine from 1 down to 0.1 at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1.0, total - warmup))
    return 0.1 + 0.45 * (1 + math.cos(math.pi * progress))


def batches(dataset: CharDataset, batch_size: int, shuffle: bool) -> DataLoader:
    """One DataLoader item = one batch gathered by CharDataset in a single indexing call."""
    sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(sampler, batch_size, drop_last=False), batch_size=None)


def val_batches(data_dir: Path, maxlen: int) -> DataLoader:
    """The validation text in back-to-back windows, every position scored: each character once (see top)."""
    return batches(CharDataset(data_dir, maxlen, maxlen, split="val", objective="every"), EVAL_BATCH, shuffle=False)


class History(Callback):
    """Per-epoch losses, and the wall time and windows of training proper (data loading in, validation out)."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []
        self.train_seconds = 0.0
        self.windows = 0
        self.predictions = 0  # characters predicted: windows x maxlen with the "every" objective
        self.resumed_after = 0  # validated epochs before this process took over
        self._since = 0.0

    def _resume(self, *_: Any) -> None:
        self._since = time.perf_counter()

    def _pause(self, *_: Any) -> None:
        self.train_seconds += time.perf_counter() - self._since

    on_train_epoch_start = _resume
    on_validation_start = _pause

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self.windows += len(batch[1])
        self.predictions += batch[1].numel()

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "train_seconds": self.train_seconds, "windows": self.windows,
                "predictions": self.predictions}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs, self.train_seconds = state["epochs"], state["train_seconds"]
        self.windows, self.predictions = state["windows"], state["predictions"]
        self.resumed_after = len(self.epochs)

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception: BaseException) -> None:
        """Ctrl-C or SIGTERM: keep what was learnt so far in last.ckpt for the next run to resume from."""
        if isinstance(exception, (KeyboardInterrupt, SIGTERMException)) and trainer.checkpoint_callback:
            trainer.save_checkpoint(Path(trainer.checkpoint_callback.dirpath) / "last.ckpt")
            print(f"\ntrain: interrupted in epoch {trainer.current_epoch + 1}; saved a resumable checkpoint, "
                  "run `dvc repro` again to continue")

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        # runs before ModelCheckpoint's own hook (callback order), so every checkpoint includes this epoch
        self._resume()
        m = trainer.callback_metrics
        self.epochs.append({"epoch": trainer.current_epoch + 1, "val_loss": float(m["val_loss"]),
                            "val_acc": float(m["val_acc"])})

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._pause()


def fingerprint(model_cfg: dict[str, Any], train_cfg: dict[str, Any], maxlen: int, step: int, seed: int,
                data_dir: Path) -> dict[str, Any]:
    """What a run depends on: resuming is only safe when all of it is unchanged."""
    data = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(Path(data_dir).glob("*.npy"))}
    data["vocab.json"] = hashlib.sha256((Path(data_dir) / "vocab.json").read_bytes()).hexdigest()
    caps = ("resume", "max_time") if train_cfg["schedule"] != "constant" else ("resume", "max_epochs", "max_time")
    knobs = {k: v for k, v in train_cfg.items() if k not in caps}  # a schedule spans max_epochs: part of the run
    return {"model": model_cfg, "train": knobs, "maxlen": maxlen, "step": step, "seed": seed, "data": data}


def resume_point(work: Path, current: dict[str, Any], allowed: bool) -> Path | None:
    """last.ckpt of an interrupted run with the same fingerprint, else None (and the old run is cleared)."""
    last, saved = work / "checkpoints/last.ckpt", work / "fingerprint.json"
    if last.is_file() and saved.is_file():
        before = json.loads(saved.read_text())
        if not allowed:
            print("train: train.resume is false: starting fresh")
        elif before == current:
            print(f"train: resuming the interrupted run from {last}")
            return last
        else:
            changed = sorted(k for k in current if before.get(k) != current[k])
            print(f"train: starting fresh: {', '.join(changed)} changed since the interrupted run")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    write_json(saved, current)
    return None


def train(model_cfg: dict[str, Any], train_cfg: dict[str, Any], *, maxlen: int, step: int, seed: int,
          data_dir: Path = DATA_DIR, model_dir: Path = MODEL_DIR, live_dir: Path | None = LIVE_DIR,
          progress: bool = True) -> dict[str, Any]:
    """Fit LitCharRNN on the prepared data, resuming an interrupted run when possible.

    Only on success are model_dir/best.ckpt and live_dir replaced; returns the metrics.
    """
    if train_cfg["schedule"] != "constant" and not train_cfg["max_epochs"]:
        raise CharlmError(f"train.schedule={train_cfg['schedule']} spans train.max_epochs: set it (not null)")
    work = Path(model_dir) / WORK
    ckpt_path = resume_point(work, fingerprint(model_cfg, train_cfg, maxlen, step, seed, data_dir),
                             train_cfg.get("resume", True))
    L.seed_everything(seed, workers=True, verbose=False)
    idx2char = load_vocab(data_dir)
    vocab_size = len(idx2char)
    train_set = CharDataset(data_dir, maxlen, step, split="train", objective=train_cfg["objective"])
    train_data = batches(train_set, train_cfg["batch_size"], shuffle=True)
    val_data = val_batches(data_dir, maxlen)
    model = LitCharRNN(vocab_size, lr=train_cfg["lr"], schedule=train_cfg["schedule"], warmup=train_cfg["warmup"],
                       **model_cfg)
    model.vocab = idx2char

    history = History()
    early = EarlyStopping(monitor="val_loss", mode="min", patience=train_cfg["patience"])
    best = ModelCheckpoint(dirpath=work / "checkpoints", filename="best", monitor="val_loss", mode="min", save_top_k=1,
                           save_last=True, enable_version_counter=False)
    callbacks: list[Callback] = [history, early, best]
    logger: DVCLiveLogger | bool = False
    if live_dir:  # per-epoch curves for `dvc plots`; DVCLive must not touch dvc.yaml nor start experiments itself
        logger = DVCLiveLogger(dir=str(work / "dvclive"), dvcyaml=False, save_dvc_exp=False,
                               resume=ckpt_path is not None)
        callbacks.append(LearningRateMonitor(logging_interval="epoch"))
    trainer = L.Trainer(
        accelerator="auto", devices=1, deterministic=True, logger=logger, callbacks=callbacks,
        max_epochs=train_cfg["max_epochs"] or -1,
        max_time=timedelta(minutes=train_cfg["max_time"]) if train_cfg["max_time"] else None,
        gradient_clip_val=train_cfg["grad_clip"], num_sanity_val_steps=0, enable_progress_bar=progress,
        use_distributed_sampler=False,
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        try:
            trainer.fit(model, train_data, val_data, ckpt_path=ckpt_path)
        except SIGTERMException:
            raise CharlmError("terminated (SIGTERM) during training; run `dvc repro` again to resume") from None
    if not history.epochs:
        raise CharlmError("training stopped before the first validation: raise train.max_time or train.max_epochs")

    with atomic_path(Path(model_dir) / CHECKPOINT.name) as tmp:
        shutil.copyfile(best.best_model_path, tmp)
    if live_dir:
        replace_dir(work / "dvclive", Path(live_dir))
    shutil.rmtree(work)
    top = min(history.epochs, key=lambda e: e["val_loss"])
    return {
        "val_loss": round(top["val_loss"], 4),
        "val_bpc": round(top["val_loss"] / math.log(2), 4),
        "val_acc": round(top["val_acc"], 4),
        "uniform_loss": round(math.log(vocab_size), 4),
        "best_epoch": top["epoch"],
        "epochs": len(history.epochs),
        "early_stopped": early.stopped_epoch > 0,
        "resumed_after_epoch": history.resumed_after,
        "train_seconds": round(history.train_seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "windows_per_second": round(history.windows / max(history.train_seconds, 1e-9)),
        "predicted_chars_per_second": round(history.predictions / max(history.train_seconds, 1e-9)),
    }


def main() -> None:
    params = load("prepare", "model", "train")
    metrics = train(params["model"], params["train"], maxlen=params["prepare"]["maxlen"],
                    step=params["prepare"]["step"], seed=params["seed"])
    write_json(METRICS, metrics)
    print("train: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))


if __name__ == "__main__":
    cli(main)
