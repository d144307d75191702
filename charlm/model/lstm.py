"""LitCharRNN: the exercise's LSTM language model p(x[n+1] | x[n-maxlen+1..n]) as a LightningModule.

Its checkpoint is self-contained: the hyperparameters (plain values, so it loads with
`weights_only=True`), `maxlen` and the vocabulary come back with the weights, so

    model = LitCharRNN.load_from_checkpoint("models/best.ckpt", weights_only=True)

is ready to use. `charlm.model.compiled` runs the same weights one character at a time for generation,
and `charlm.model.checkpoint` reads them without Lightning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR

from charlm.errors import CharlmError
from charlm.model.network import layers

State = tuple[torch.Tensor, torch.Tensor]  # the LSTM's (h, c), each (layers, batch, hidden)


class LitCharRNN(L.LightningModule):
    """Embedding -> LSTM -> last hidden state -> Dropout -> Linear+ReLU -> Dropout -> Linear (logits).

    `every_logits` applies the same head to every hidden state (the `every` training objective). With
    `carry_state` > 0, training batch k + 1 continues the texts of batch k (`datamodule.StreamSampler`),
    and each row starts from the state batch k ended in (detached: char-rnn's truncated
    back-propagation through time) with probability `carry_state`, else from zeros as `val_loss`'s
    windows do. `lr_schedule` (step -> multiplier of lr, see `charlm.train.schedules`) is not a
    hyperparameter: it shapes training, not the model.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 128, dropout: float = 0.2,
                 lr: float = 5e-3, num_layers: int = 2, maxlen: int = 40, weight_decay: float = 0.0,
                 carry_state: float = 0.0, vocab: Sequence[str] | None = None,
                 lr_schedule: Callable[[int], float] | None = None):
        super().__init__()
        self.save_hyperparameters(ignore=["vocab", "lr_schedule"])  # plain values: weights_only=True reads
        if vocab is not None and len(vocab) != vocab_size:
            raise ValueError(f"vocab has {len(vocab)} characters, vocab_size is {vocab_size}")
        self.vocab = list(vocab) if vocab is not None else None  # idx2char, kept in checkpoints
        self.lr_schedule = lr_schedule
        self.embed, self.lstm, self.head = layers(vocab_size, embed_dim, hidden_size, num_layers, dropout)
        self._state: State | None = None  # where the last training batch ended

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

    def _logged_loss(self, logits: torch.Tensor, y: torch.Tensor, prefix: str) -> torch.Tensor:
        loss = F.cross_entropy(logits, y)
        if not torch.isfinite(loss):
            raise CharlmError(f"{prefix} loss is {loss.item()} at epoch {self.current_epoch + 1}, batch "
                              f"{self.trainer.fit_loop.epoch_loop.batch_idx + 1}: lower train.lr")
        # weighted by each batch's size, and across the processes of a distributed run: the mean over all
        logged = {"on_step": False, "on_epoch": True, "batch_size": len(y), "sync_dist": True}
        self.log(f"{prefix}_loss", loss, prog_bar=True, **logged)
        self.log(f"{prefix}_bpc", loss / math.log(2), **logged)
        if prefix == "val":
            self.log("val_acc", (logits.argmax(-1) == y).float().mean(), prog_bar=True, **logged)
        return loss

    def carried_state(self, batch_idx: int, rows: int) -> State | None:
        """The state the last batch ended in, each row kept with probability `carry_state`, else zeros;
        None (zeros) at the start of an epoch, a resumed one too."""
        state = self._state
        if batch_idx == 0 or state is None or state[0].shape[1] != rows:
            return None
        if self.hparams.carry_state < 1:  # the other rows start from zeros, as val_loss's windows
            keep = torch.rand(rows, device=state[0].device) < self.hparams.carry_state
            keep = keep.to(state[0].dtype)[None, :, None]
            state = (state[0] * keep, state[1] * keep)
        return state

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        if not self.hparams.carry_state:
            return self._logged_loss(*self.scores(x, y), "train")
        hidden, state = self.lstm(self.embed(x), self.carried_state(batch_idx, len(x)))
        self._state = (state[0].detach(), state[1].detach())
        return self._logged_loss(self.head(hidden).flatten(0, 1), y.flatten(), "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        # fp32 under bf16 training: val_loss stays comparable
        with torch.autocast(self.device.type, enabled=False):
            self._logged_loss(*self.scores(*batch), "val")

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
        total = 0.0
        state = None
        for i in range(0, len(codes) - 1, chunk):
            y = codes[i + 1 : i + chunk + 1]  # the next characters
            x = codes[i : i + len(y)]  # the characters that predict them
            hidden, state = self.lstm(self.embed(x.long()[None]), state)
            total += F.cross_entropy(self.head(hidden[0]), y.long(), reduction="sum").item()
        self.train(was_training)
        return total / max(1, len(codes) - 1)

    def configure_optimizers(self) -> Any:
        weights = [p for p in self.parameters() if p.dim() >= 2]  # decayed as nanoGPT does; biases are not
        biases = [p for p in self.parameters() if p.dim() < 2]
        groups = [{"params": weights, "weight_decay": self.hparams.weight_decay, "name": "weights"},
                  {"params": biases, "weight_decay": 0.0, "name": "biases"}]  # LearningRateMonitor's keys
        optimizer = torch.optim.AdamW(groups, lr=self.hparams.lr)
        if self.lr_schedule is None:
            return optimizer
        scheduler = LambdaLR(optimizer, self.lr_schedule)  # evaluates step 0 now: the schedule is complete
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
