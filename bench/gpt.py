"""A GPT of nanoGPT's `shakespeare_char` CPU recipe, to measure the LSTM against at equal training time.

After nanoGPT's `model.py`: pre-LayerNorm blocks, causal attention, tied input and output embedding;
4 layers, 4 heads, 128 wide, block 64, batch 12, no dropout, AdamW (lr 1e-3, betas 0.9/0.99, weight
decay 0.1), gradient clip 1, 100 warm-up steps, then a cosine to 1e-4 whose horizon is the time budget.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from charlm.evaluate.dynamic import Reader

BLOCK = 64
BATCH = 12


class Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.ln2 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.heads = heads
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2)
                   for t in self.qkv(self.ln1(x)).split(C, dim=2))
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(attended.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """A causal character transformer as nanoGPT's (pre-LayerNorm blocks, tied input/output embedding)."""

    def __init__(self, vocab: int, block: int = BLOCK, layers: int = 4, heads: int = 4,
                 width: int = 128) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(block, width)
        self.blocks = nn.Sequential(*(Block(width, heads) for _ in range(layers)))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
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


def autocast(bf16: bool) -> torch.autocast | nullcontext:
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()


@torch.inference_mode()
def block_loss(model: GPT, codes: torch.Tensor, block: int) -> float:
    """Mean cross-entropy over back-to-back blocks of the text, every position scored (val_loss's
    definition: each character predicted from 1 to `block` characters before it)."""
    n = (len(codes) - 1) // block
    x = codes[: n * block].view(n, block)
    y = codes[1 : n * block + 1].view(n, block)
    model.eval()
    total = sum(F.cross_entropy(model(xb).flatten(0, 1), yb.flatten(), reduction="sum").item()
                for xb, yb in zip(x.split(256), y.split(256), strict=True))
    return total / y.numel()


@torch.inference_mode()
def sliding_loss(model: GPT, codes: torch.Tensor, block: int = BLOCK, batch: int = 512) -> float:
    """Mean cross-entropy of every character after the first, each predicted from the `block`
    characters before it (all there are, for the first `block`): the GPT's best use of context."""
    model.eval()
    first = codes[: block + 1]
    total = F.cross_entropy(model(first[None, :-1])[0], first[1:], reduction="sum").item()
    # window k (codes[k + 1 : k + 1 + block]) predicts codes[k + 1 + block]
    windows = codes[1:].unfold(0, block, 1)[: len(codes) - 1 - block]
    targets = codes[block + 1 :]
    for xb, yb in zip(windows.split(batch), targets.split(batch), strict=True):
        total += F.cross_entropy(model(xb)[:, -1], yb, reduction="sum").item()
    return total / (len(codes) - 1)


def gpt_reader(model: GPT, block: int = BLOCK) -> Reader:
    """Dynamic evaluation's view of the GPT (charlm.evaluate.dynamic): the state is the last `block`
    characters read, and each character of a segment is predicted from the `block` characters before it
    (all there are, near the start), as the sliding window reads: the same context as its static
    reading, whatever the segment's length."""

    def step(x: torch.Tensor, y: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        history = x if state is None else torch.cat([state, x])
        first = len(history) - len(x)  # where the segment starts in it
        logits = []
        if first < block:  # positions whose whole history fits one block: one causal pass over it
            logits.append(model(history[None, :block])[0, first:])
        start = max(first, block)  # the rest: a full window ending at each position
        if start < len(history):
            logits.append(model(history.unfold(0, block, 1)[start - block + 1 :])[:, -1])
        return F.cross_entropy(torch.cat(logits), y, reduction="sum"), history[-block:]

    return Reader(model, step)


def lr_at(steps: int, progress: float) -> float:
    """nanoGPT's recipe: 100 warm-up steps to 1e-3, then a cosine to 1e-4 over the time budget."""
    if steps < 100:
        return 1e-3 * (steps + 1) / 100
    return 1e-4 + 0.5 * 9e-4 * (1 + math.cos(math.pi * min(1.0, progress)))


def train_gpt(train: torch.Tensor, vocab: int, seconds: float, seed: int, bf16: bool) -> tuple[GPT, int]:
    """nanoGPT's CPU recipe for `seconds` of training; the model and its optimiser steps."""
    torch.manual_seed(seed)
    model = GPT(vocab)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))
    steps = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for group in opt.param_groups:
            group["lr"] = lr_at(steps, elapsed / seconds)
        ix = torch.randint(len(train) - BLOCK - 1, (BATCH,))
        x = torch.stack([train[i : i + BLOCK] for i in ix.tolist()])
        y = torch.stack([train[i + 1 : i + BLOCK + 1] for i in ix.tolist()])
        with autocast(bf16):
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        steps += 1
    return model, steps
