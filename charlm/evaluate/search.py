"""Dynamic evaluation's learning rate, chosen on the validation text: never on the text it will score.

    the last `search_chars` characters of the validation text
    -> rms: the trained model's gradient statistics on them (the rule's MS)
    -> each of `lrs` reads them dynamically; the lowest loss wins (one lr: no search)

The stretch is the end of the validation text: the text just before the test text, and, being short,
cheap to read once per candidate. The statistics come from held-out text too, so they measure the
gradients the model meets on text it has not learnt, as it will on the test text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from charlm.errors import CharlmError
from charlm.evaluate.dynamic import Reader, Rule, dynamic_loss, gradient_stats
from charlm.params.schema import EvaluateParams


@dataclass(frozen=True)
class Choice:
    """The rule to read the test text with, its gradient statistics (rms), and the search's table
    (None without a search)."""

    rule: Rule
    stats: list[torch.Tensor] | None
    table: dict[str, Any] | None


DIVERGED = 1.1  # a reading this much worse than the same reading without learning has diverged, not learnt


def is_diverged(loss: float, static: float) -> bool:
    """Whether a dynamic reading's `loss` is no learning at all: not finite, or well above `static`."""
    return not math.isfinite(loss) or loss > DIVERGED * static


def diverged(loss: float, text: str, rule: Rule) -> CharlmError:
    return CharlmError(f"dynamic evaluation diverged on the {text} text (loss {loss}) with {rule.name} lr"
                       f" {rule.lr:g}: lower evaluate.lrs")


def choose(reader: Reader, val: torch.Tensor, cfg: EvaluateParams) -> Choice:
    """The lr of `cfg.lrs` that reads the end of the validation text best; diverged readings lose."""
    stretch = val[-cfg.search_chars :]
    stats = gradient_stats(reader, stretch, cfg.segment) if cfg.rule == "rms" else None
    rules = [Rule(cfg.rule, lr, cfg.decay) for lr in cfg.lrs]
    if len(rules) == 1:
        return Choice(rules[0], stats, None)
    losses = [dynamic_loss(reader, stretch, rule, cfg.segment, stats) for rule in rules]
    static = reader_static(reader, stretch, cfg)
    best = min(range(len(rules)), key=lambda i: (is_diverged(losses[i], static), losses[i]))
    if is_diverged(losses[best], static):
        raise diverged(losses[best], "validation", rules[best])
    table = {"chars": len(stretch), "val_loss_stateful": round(static, 4),
             "tried": [{"lr": rule.lr, "val_loss_dynamic": round(loss, 4) if math.isfinite(loss) else None}
                       for rule, loss in zip(rules, losses, strict=True)]}
    return Choice(rules[best], stats, table)


def reader_static(reader: Reader, codes: torch.Tensor, cfg: EvaluateParams) -> float:
    """The stretch read with the state carried and no learning: what the search's gains are against."""
    return dynamic_loss(reader, codes, Rule("sgd", 0.0), cfg.segment)
