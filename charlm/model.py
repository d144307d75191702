"""LitCharRNN: the exercise's LSTM language model p(x[n+1] | x[n-maxlen+1..n]) as a LightningModule.

Its checkpoint is self-contained: the hyperparameters (plain values, so it loads with
`weights_only=True`), `maxlen` and the vocabulary come back with the weights, so

    model = LitCharRNN.load_from_checkpoint("models/best.ckpt", weights_only=True)

is ready to use. `charlm.model_step` runs the same weights one character at a time, compiled, and
reads checkpoints without Lightning for generation.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from charlm.errors import CharlmError


class LitCharRNN(L.LightningModule):
    """Embedding -> LSTM -> last hidden state -> Dropout -> Linear+ReLU -> Dropout -> Linear (logits).

    `every_logits` applies the same head to every hidden state (the `every` training objective). With
    `carry_state` > 0, training batch k + 1 continues the texts of batch k (`datamodule.stream_batches`), and each
    row starts from the state batch k ended in (detached; char-rnn's truncated back-propagation through
    time) with probability `carry_state`, else from zeros as `val_loss`'s windows do.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 128, dropout: float = 0.2,
                 lr: float = 5e-3, num_layers: int = 2, maxlen: int = 40, schedule: str = "constant",
                 warmup: float = 0.0, weight_decay: float = 0.0, carry_state: float = 0.0,
                 vocab: Sequence[str] | None = None):
        super().__init__()
        self.save_hyperparameters(ignore=["vocab"])  # plain numbers only: the checkpoint loads with weights_only=True
        if vocab is not None and len(vocab) != vocab_size:
            raise ValueError(f"vocab has {len(vocab)} characters, vocab_size is {vocab_size}")
        self.vocab: list[str] | None = list(vocab) if vocab is not None else None  # idx2char, kept in checkpoints
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Sequential(OrderedDict(
            dropout1=nn.Dropout(dropout), dense=nn.Linear(hidden_size, hidden_size), relu=nn.ReLU(),
            dropout2=nn.Dropout(dropout), out=nn.Linear(hidden_size, vocab_size),
        ))
        self._state: tuple[torch.Tensor, torch.Tensor] | None = None  # where the last training batch ended

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Next-character logits (B, V) after the last position of x (B, T)."""
        return self.head(self.lstm(self.embed(x))[0][:, -1])

    def every_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Next-character logits after every position of x: (B, T, V)."""
        return self.head(self.lstm(self.embed(x))[0])

    def scores(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (N, V) and targets (N,): y is (B,) for the `last` objective, (B, T) for `every`."""
        logits = self(x) if y.ndim == 1 else self.every_logits(x).flatten(0, 1)
        return logits, y.flatten()

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy in nats per predicted character."""
        return F.cross_entropy(*self.scores(x, y))

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], prefix: str) -> torch.Tensor:
        return self._logged_loss(*self.scores(*batch), prefix)

    def _logged_loss(self, logits: torch.Tensor, y: torch.Tensor, prefix: str) -> torch.Tensor:
        loss = F.cross_entropy(logits, y)
        if not torch.isfinite(loss):
            raise CharlmError(f"{prefix} loss is {loss.item()} at epoch {self.current_epoch + 1}, batch "
                              f"{self.trainer.fit_loop.epoch_loop.batch_idx + 1}: lower train.lr")
        # weighted by each batch's size, and across the processes of a distributed run: the mean over all of them
        logged = {"on_step": False, "on_epoch": True, "batch_size": len(y), "sync_dist": True}
        self.log(f"{prefix}_loss", loss, prog_bar=True, **logged)
        self.log(f"{prefix}_bpc", loss / math.log(2), **logged)
        if prefix == "val":
            self.log("val_acc", (logits.argmax(-1) == y).float().mean(), prog_bar=True, **logged)
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if not self.hparams.carry_state:
            return self._step(batch, "train")
        x, y = batch
        state = self._state if batch_idx > 0 and self._state is not None and self._state[0].shape[1] == len(x) else None
        if state is not None and self.hparams.carry_state < 1:  # the other rows start from zeros, as val_loss's windows
            keep = (torch.rand(len(x), device=x.device) < self.hparams.carry_state).to(state[0].dtype)[None, :, None]
            state = (state[0] * keep, state[1] * keep)
        hidden, state = self.lstm(self.embed(x), state)  # a new epoch, or a resumed one, starts from zeros
        self._state = (state[0].detach(), state[1].detach())
        return self._logged_loss(self.head(hidden).flatten(0, 1), y.flatten(), "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        with torch.autocast(self.device.type, enabled=False):  # fp32 under bf16 training: val_loss stays comparable
            self._step(batch, "val")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["vocab"] = self.vocab

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.vocab = checkpoint.get("vocab")

    @torch.inference_mode()
    def stateful_loss(self, codes: torch.Tensor, chunk: int = 4096) -> float:
        """Mean cross-entropy (nats) of every character of a text after its first, each predicted from all
        the text before it: the LSTM reads the text once, carrying its state from chunk to chunk (char-rnn's
        measure; `val_loss` restarts the state every `maxlen` characters)."""
        was_training = self.training
        self.eval()
        total, state = 0.0, None
        for i in range(0, len(codes) - 1, chunk):
            x, y = codes[i:i + chunk + 1][:-1], codes[i + 1:i + chunk + 1]
            hidden, state = self.lstm(self.embed(x.long()[None]), state)
            total += F.cross_entropy(self.head(hidden[0]), y.long(), reduction="sum").item()
        self.train(was_training)
        return total / max(1, len(codes) - 1)

    def configure_optimizers(self) -> Any:
        weights = [p for p in self.parameters() if p.dim() >= 2]  # decayed as nanoGPT does; biases are not
        biases = [p for p in self.parameters() if p.dim() < 2]
        groups = [{"params": weights, "weight_decay": self.hparams.weight_decay, "name": "weights"},
                  {"params": biases, "weight_decay": 0.0, "name": "biases"}]  # names: LearningRateMonitor's keys
        optimizer = torch.optim.AdamW(groups, lr=self.hparams.lr)
        if self.hparams.schedule == "constant":
            return optimizer
        if self.hparams.schedule == "wsd":
            factor: Any = WarmupStableDecay()  # charlm.training.Budget sets its warm-up and decay while training
        else:
            total = self.trainer.estimated_stepping_batches
            factor = partial(lr_factor, warmup=max(1, round(self.hparams.warmup * total)), total=total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": LambdaLR(optimizer, factor), "interval": "step"}}


FLOOR = 0.1  # the decays end at lr / 10


def cosine_down(progress: float) -> float:
    """From 1 at progress 0 down to FLOOR at 1 (and after), along half a cosine."""
    return FLOOR + (1 - FLOOR) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def lr_factor(step: int, warmup: int, total: float) -> float:
    """The `cosine` schedule's multiplier: linear warm-up over `warmup` steps, then down to 0.1 at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    return cosine_down((step - warmup) / max(1.0, total - warmup))


@dataclass
class WarmupStableDecay:
    """The `wsd` schedule's multiplier: linear warm-up over `warmup` steps, 1 until step `start`, then down
    to 0.1 over `steps` steps. `start` is None until training decides when to decay (a plateau, or the
    budget running out), so one schedule fits any machine's speed. LambdaLR checkpoints these fields."""

    warmup: int = 0
    start: int | None = None
    steps: int = 1

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.start is None or step < self.start:
            return 1.0
        return cosine_down((step - self.start) / self.steps)

