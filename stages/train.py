"""Stage 3, train: an LSTM language model p(x[n+1] | x[n-maxlen+1..n]) with PyTorch Lightning.

    data/prepared -> CharDataset windows (train: every `step`, val: every character)
    -> LitCharRNN, Adam, EarlyStopping(val_loss) + ModelCheckpoint(best) + optional time cap
    -> models/best.ckpt, metrics/train.json, dvclive/ (per-epoch curves for `dvc plots`)

The validation loss is the mean cross-entropy (nats) of every validation character after its
full `maxlen`-character window, so runs with different `step` or batch size compare directly.
"""

from __future__ import annotations

import math
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from dvclive.lightning import DVCLiveLogger
from lightning.pytorch.callbacks import Callback, EarlyStopping, LearningRateMonitor, ModelCheckpoint
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

from stages.download import write_json
from stages.prepare import OUT_DIR as DATA_DIR
from stages.prepare import CharDataset, load_vocab
from stages.params import CharlmError, cli, load

MODEL_DIR = Path("models")
CHECKPOINT = MODEL_DIR / "best.ckpt"
METRICS = Path("metrics/train.json")
LIVE_DIR = Path("dvclive")
EVAL_BATCH = 1024

State = tuple[torch.Tensor, torch.Tensor]


class LitCharRNN(L.LightningModule):
    """Embedding -> LSTM -> last hidden state -> Dropout -> Linear+ReLU -> Dropout -> Linear (logits)."""

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 128, dropout: float = 0.2,
                 lr: float = 5e-3, num_layers: int = 2):
        super().__init__()
        self.save_hyperparameters()  # plain numbers only: the checkpoint loads with weights_only=True
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

    def _loss(self, batch: tuple[torch.Tensor, torch.Tensor], prefix: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
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

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def batches(dataset: CharDataset, batch_size: int, shuffle: bool) -> DataLoader:
    """One DataLoader item = one batch gathered by CharDataset in a single indexing call."""
    sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(sampler, batch_size, drop_last=False), batch_size=None)


class History(Callback):
    """Per-epoch losses, and the wall time and windows of training proper (data loading in, validation out)."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []
        self.train_seconds = 0.0
        self.windows = 0
        self._since = 0.0

    def _resume(self, *_: Any) -> None:
        self._since = time.perf_counter()

    def _pause(self, *_: Any) -> None:
        self.train_seconds += time.perf_counter() - self._since

    on_train_epoch_start = _resume
    on_validation_start = _pause
    on_validation_end = _resume

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self.windows += len(batch[1])

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._pause()
        m = trainer.callback_metrics
        if "val_loss" in m:
            self.epochs.append({"epoch": trainer.current_epoch + 1,
                                **{k: float(m[k]) for k in ("train_loss", "val_loss", "val_acc") if k in m}})


def train(model_cfg: dict[str, Any], train_cfg: dict[str, Any], *, maxlen: int, step: int, seed: int,
          data_dir: Path = DATA_DIR, model_dir: Path = MODEL_DIR, live_dir: Path | None = LIVE_DIR,
          progress: bool = True) -> dict[str, Any]:
    """Fit LitCharRNN on the prepared data; the best checkpoint lands in model_dir/best.ckpt. Returns metrics."""
    L.seed_everything(seed, workers=True, verbose=False)
    vocab_size = len(load_vocab(data_dir))
    train_data = batches(CharDataset(data_dir, maxlen, step, split="train"), train_cfg["batch_size"], shuffle=True)
    val_data = batches(CharDataset(data_dir, maxlen, 1, split="val"), EVAL_BATCH, shuffle=False)
    model = LitCharRNN(vocab_size, lr=train_cfg["lr"], **model_cfg)

    history = History()
    early = EarlyStopping(monitor="val_loss", mode="min", patience=train_cfg["patience"])
    best = ModelCheckpoint(dirpath=model_dir, filename=CHECKPOINT.stem, monitor="val_loss", mode="min",
                           save_top_k=1, enable_version_counter=False)
    callbacks: list[Callback] = [history, early, best]
    logger: DVCLiveLogger | bool = False
    if live_dir:  # per-epoch curves for `dvc plots`; DVCLive must not touch dvc.yaml nor start experiments itself
        logger = DVCLiveLogger(dir=str(live_dir), dvcyaml=False, save_dvc_exp=False)
        callbacks.append(LearningRateMonitor(logging_interval="epoch"))
    trainer = L.Trainer(
        accelerator="auto", devices=1, deterministic=True, logger=logger, callbacks=callbacks,
        max_epochs=train_cfg["max_epochs"] or -1,
        max_time=timedelta(minutes=train_cfg["max_time"]) if train_cfg["max_time"] else None,
        num_sanity_val_steps=0, enable_progress_bar=progress, use_distributed_sampler=False,
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        trainer.fit(model, train_data, val_data)
    if not best.best_model_path:
        raise CharlmError("training stopped before the first validation: raise train.max_time or train.max_epochs")

    top = min(history.epochs, key=lambda e: e["val_loss"])
    return {
        "val_loss": round(top["val_loss"], 4),
        "val_bpc": round(top["val_loss"] / math.log(2), 4),
        "val_acc": round(top["val_acc"], 4),
        "uniform_loss": round(math.log(vocab_size), 4),
        "best_epoch": top["epoch"],
        "epochs": len(history.epochs),
        "early_stopped": early.stopped_epoch > 0,
        "train_seconds": round(time.perf_counter() - started, 1),
        "windows_per_second": round(history.windows / max(history.train_seconds, 1e-9)),
    }


def main() -> None:
    params = load("prepare", "model", "train")
    metrics = train(params["model"], params["train"], maxlen=params["prepare"]["maxlen"],
                    step=params["prepare"]["step"], seed=params["seed"])
    write_json(METRICS, metrics)
    print("train: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))


if __name__ == "__main__":
    cli(main)
