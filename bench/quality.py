"""Quality at equal wall time: the pipeline's LSTM against a GPT of nanoGPT's CPU recipe.

Both train for the same minutes on the same split of the same text, one after the other in this
process. The LSTM is the train stage's own `fit` with params.yaml (its time cap set to the budget);
the GPT is written here after nanoGPT's `model.py` and its `shakespeare_char` CPU recipe: 4 layers,
4 heads, 128 wide, block 64, batch 12, no dropout, AdamW (lr 1e-3, betas 0.9/0.99, weight decay 0.1),
gradient clip 1, 100 warm-up steps, then a cosine to 1e-4 whose horizon is the time budget.
Validation: the LSTM's `val_loss` (back-to-back 40-character windows) and `val_loss_stateful` (the
whole text, state carried); the GPT's loss over back-to-back blocks of 40 and of 64 characters.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from charlm import config
from charlm.data import load_split
from charlm.rundir import RunDir
from charlm.training import fit


class Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj, self.heads = nn.Linear(width, 3 * width), nn.Linear(width, width), heads
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2)
                   for t in self.qkv(self.ln1(x)).split(C, dim=2))
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + self.proj(attended)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """A causal character transformer as nanoGPT's (pre-LayerNorm blocks, tied input/output embedding)."""

    def __init__(self, vocab: int, block: int = 64, layers: int = 4, heads: int = 4,
                 width: int = 128) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(block, width)
        self.blocks = nn.Sequential(*(Block(width, heads) for _ in range(layers)))
        self.ln, self.head = nn.LayerNorm(width), nn.Linear(width, vocab, bias=False)
        self.head.weight = self.tok.weight
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.tok(x) + self.pos(torch.arange(x.shape[1]))
        return self.head(self.ln(self.blocks(h)))


def block_loss(model: GPT, codes: torch.Tensor, block: int) -> float:
    """Mean cross-entropy over back-to-back blocks of the text, every position scored (as val_loss)."""
    n = (len(codes) - 1) // block
    x, y = codes[:n * block].view(n, block), codes[1:n * block + 1].view(n, block)
    model.eval()
    with torch.inference_mode():
        total = sum(F.cross_entropy(model(xb).flatten(0, 1), yb.flatten(), reduction="sum").item()
                    for xb, yb in zip(x.split(256), y.split(256), strict=True))
    model.train()
    return total / y.numel()


def train_gpt(train: torch.Tensor, val: torch.Tensor, vocab: int, seconds: float,
              seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    model, block, batch = GPT(vocab), 64, 12
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))
    steps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        progress = min(1.0, elapsed / seconds)  # the cosine's horizon is the time budget
        lr = 1e-3 * (steps + 1) / 100 if steps < 100 else \
            1e-4 + 0.5 * 9e-4 * (1 + math.cos(math.pi * progress))
        for group in opt.param_groups:
            group["lr"] = lr
        ix = torch.randint(len(train) - block - 1, (batch,))
        x = torch.stack([train[i:i + block] for i in ix.tolist()])
        y = torch.stack([train[i + 1:i + block + 1] for i in ix.tolist()])
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        steps += 1
    trained = time.perf_counter() - start
    return {"gpt_val_loss_40": block_loss(model, val, 40), "gpt_val_loss_64": block_loss(model, val, 64),
            "gpt_steps": steps, "gpt_seconds": trained}


def train_lstm(data: Path, minutes: float, **overrides: Any) -> dict[str, Any]:
    """The train stage's training with params.yaml, capped at `minutes`; `overrides` are params
    such as `train.weight_decay=0.1` (the dots written as "__": train__weight_decay=0.1)."""
    seed, model_cfg, train_cfg = config.load("seed", "model", "train")
    sections = {"model": {}, "train": {"max_time": minutes}}
    for key, value in overrides.items():
        section, name = key.split("__")
        sections[section][name] = value
    model_cfg = dataclasses.replace(model_cfg, **sections["model"])
    train_cfg = dataclasses.replace(train_cfg, **sections["train"])
    run = RunDir(Path(tempfile.mkdtemp(prefix="charlm-quality-")) / "run")
    _, metrics = fit(model_cfg, train_cfg, seed, data, run, progress=False)
    run.finish()
    return {f"lstm_{k}": metrics[k] for k in ("val_loss", "val_loss_stateful", "epochs", "stopped_by",
                                                "train_seconds", "wall_seconds", "windows_per_second",
                                                "decay_reason", "best_epoch")}


# params.yaml before these levers were measured
BEFORE = {"train__weight_decay": 0.0, "train__carry_state": 0.0}
LEVERS: list[tuple[str, dict[str, Any]]] = [  # each changes BEFORE in one or two respects
    ("the earlier params", {}),
    ("weight decay 0.01", {"train__weight_decay": 0.01}),
    ("weight decay 0.1", {"train__weight_decay": 0.1}),
    ("state carried between batches (truncated BPTT)", {"train__carry_state": 1.0}),
    ("batch 128, lr 0.02", {"train__batch_size": 128, "train__lr": 0.02}),
    ("192 units, no dropout (an earlier default)", {"model__hidden_size": 192, "model__dropout": 0.0}),
    ("the earlier params again (the machine's drift)", {}),
    ("weight decay 0.1, 75% of the state carried", {"train__weight_decay": 0.1, "train__carry_state": 0.75}),
    ("weight decay 0.1, 192 units", {"train__weight_decay": 0.1, "model__hidden_size": 192}),
    ("weight decay 0.3", {"train__weight_decay": 0.3}),
    ("weight decay 0.1 again (the machine's drift)", {"train__weight_decay": 0.1}),
    ("weight decay 1.0", {"train__weight_decay": 1.0}),
    ("weight decay 0.3, 75% of the state carried", {"train__weight_decay": 0.3, "train__carry_state": 0.75}),
    ("weight decay 0.3, 75% of the state carried, 192 units",
     {"train__weight_decay": 0.3, "train__carry_state": 0.75, "model__hidden_size": 192}),
]


def levers(data: Path, minutes: float, only: list[int] | None = None) -> list[dict[str, Any]]:
    """Each lever (or those numbered in `only`, from 1) trained for `minutes`, one after the other, on
    params.yaml as it was before the levers (BEFORE), so the rows repeat whatever the defaults are now."""
    rows = []
    for number, (name, overrides) in enumerate(LEVERS, start=1):
        if only and number not in only:
            continue
        print(f"bench: {number}. {name} ({minutes:g} min)", flush=True)
        rows.append({"lever": name, "overrides": overrides,
                     **train_lstm(data, minutes, **{**BEFORE, **overrides})})
    return rows


def quality(data: Path, vocab: int, minutes: float) -> dict[str, float]:
    lstm = train_lstm(data, minutes)
    seed = config.load("seed")
    train, val = load_split(data, "train").long(), load_split(data, "val").long()
    # the LSTM's whole fit, validation included
    gpt = train_gpt(train, val, vocab, lstm["lstm_wall_seconds"], seed)
    return {**lstm, **gpt, "minutes": minutes}
