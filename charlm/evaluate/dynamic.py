"""Dynamic evaluation (Krause et al. 2018): a model that keeps learning from the text it has just read.

    the text, in segments of `segment` characters, the model's state carried from one to the next
    -> score segment k with the weights learnt from segments 0..k-1 (its loss counts)
    -> then, only then, one gradient step on segment k's mean loss
    -> segment k + 1 ...
    -> the weights return to the trained ones when the text ends (or anything fails)

Scoring before learning is what keeps the measure honest: a segment's score never depends on its own
update, so every character is still predicted from the text before it alone. Two update rules:

- `sgd`: w <- w - lr * g, plain stochastic gradient descent.
- `rms`: a variant of Krause's "RMS with a global decay prior": w <- w - lr * g / (sqrt(MS) + eps)
  + decay * r * (w0 - w), where MS is each weight's mean squared gradient of the trained model on
  held-out text (`gradient_stats`), w0 the trained weights and r = sqrt(MS) / mean(sqrt(MS)) (decay * r
  at most 1): weights whose gradients are usually large learn and return faster. sqrt(MS) is floored
  at FLOOR x its mean over all weights: a weight that never moved while the statistics were gathered
  (a character absent from that text, a ReLU unit that stayed off) would otherwise take steps 1/eps
  times its gradient the first time it does, and the model diverges. Krause et al. gather MS on the
  training text and have no floor; here MS comes from held-out text (the validation text), which
  measures the gradients the model meets on text it has not learnt.

Reading runs in one torch thread: a segment's operations (one row, 50 positions) are too small to
share between cores (two threads gain a quarter on an idle 2-core machine), and on a busy one,
threads that wait on each other made the same reading a hundred times slower.

`Reader` is all the model must offer: the summed loss of a segment given the state before it, and
the state after it. `lstm_reader` makes one for LitCharRNN; a transformer's reader would carry its
context window instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

EPS = 2e-5  # Krause's epsilon beside the root of the RMS rule
FLOOR = 0.1  # the least sqrt(MS) of a weight, as a share of its mean over all weights
Step = Callable[[torch.Tensor, torch.Tensor, Any], tuple[torch.Tensor, Any]]


@dataclass(frozen=True)
class Rule:
    """An update rule and its settings: `sgd` or `rms`; `decay` only matters to `rms`."""

    name: Literal["sgd", "rms"]
    lr: float
    decay: float = 0.0

    def describe(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"rule": self.name, "lr": self.lr}
        if self.name == "rms":
            shown["decay"] = self.decay
        return shown


@dataclass
class Reader:
    """A model as dynamic evaluation reads it: its weights, and `step(x, y, state) -> (summed
    cross-entropy of the targets y, state after x)`, x and y 1-d codes of one segment."""

    module: nn.Module
    step: Step

    @property
    def weights(self) -> list[nn.Parameter]:
        return [p for p in self.module.parameters() if p.requires_grad]


def lstm_reader(model: nn.Module) -> Reader:
    """A reader for LitCharRNN (anything with `embed`, `lstm` and `head`): the LSTM's (h, c) is the state."""

    def step(x: torch.Tensor, y: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        hidden, state = model.lstm(model.embed(x[None]), state)
        return F.cross_entropy(model.head(hidden[0]), y, reduction="sum"), state

    return Reader(model, step)


def segments(codes: torch.Tensor, segment: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(inputs, targets) of back-to-back segments: every character after the first is a target once."""
    codes = codes.long()
    for i in range(0, len(codes) - 1, segment):
        y = codes[i + 1 : i + segment + 1]
        yield codes[i : i + len(y)], y


def detached(state: Any) -> Any:
    """The state with its history cut: the next segment's gradient stops at its own start."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, tuple | list):
        return type(state)(detached(s) for s in state)
    return state


@contextmanager
def one_thread() -> Iterator[None]:
    """torch's operations in this thread alone meanwhile (see the module's docstring)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def restored(reader: Reader) -> Iterator[list[torch.Tensor]]:
    """Yield a copy of the trained weights; put them back afterwards, whatever happened; eval mode
    (no dropout) meanwhile."""
    was_training = reader.module.training
    reader.module.eval()
    trained = [w.detach().clone() for w in reader.weights]
    try:
        yield trained
    finally:
        with torch.no_grad():
            for w, w0 in zip(reader.weights, trained, strict=True):
                w.copy_(w0)
        reader.module.train(was_training)


def gradient_stats(reader: Reader, codes: torch.Tensor, segment: int, until: float = math.inf,
                   abandoned: Callable[[], bool] = lambda: False) -> list[torch.Tensor]:
    """Each weight's mean squared gradient of the segments' mean losses (the RMS rule's MS), the trained
    model reading `codes` with its state carried and without learning; it stops after the segment that
    passes time.monotonic() `until`, or once whoever asked has gone (`abandoned`)."""
    with restored(reader), one_thread():
        squares = [torch.zeros_like(w) for w in reader.weights]
        count = 0
        state = None
        for x, y in segments(codes, segment):
            loss, state = reader.step(x, y, state)
            grads = torch.autograd.grad(loss / len(y), reader.weights, allow_unused=True)
            for s, g in zip(squares, grads, strict=True):
                if g is not None:
                    s.add_(g * g)
            count += 1
            state = detached(state)
            if time.monotonic() > until or abandoned():
                break
    return [s / max(count, 1) for s in squares]


def updater(rule: Rule, weights: Sequence[torch.Tensor], trained: Sequence[torch.Tensor],
            stats: Sequence[torch.Tensor] | None) -> Callable[[Sequence[torch.Tensor | None]], None]:
    """The in-place update of `weights` for the gradients of one segment under `rule`."""
    if rule.name == "sgd":
        def sgd(grads: Sequence[torch.Tensor | None]) -> None:
            for w, g in zip(weights, grads, strict=True):
                if g is not None:
                    w.sub_(rule.lr * g)
        return sgd
    if stats is None:
        raise ValueError("the rms rule needs gradient statistics")
    rms = [s.sqrt() for s in stats]
    mean = torch.cat([r.flatten() for r in rms]).mean().clamp_min(1e-30)
    rms = [r.clamp_min(FLOOR * mean) for r in rms]
    scale = [rule.lr / (r + EPS) for r in rms]
    pull = [(rule.decay * r / mean).clamp_max(1.0) for r in rms]  # decay * r, at most 1: no overshoot

    def rms_step(grads: Sequence[torch.Tensor | None]) -> None:
        for w, g, w0, s, p in zip(weights, grads, trained, scale, pull, strict=True):
            if g is not None:
                w.sub_(s * g)
            w.add_(p * (w0 - w))
    return rms_step


def dynamic_scores(reader: Reader, codes: torch.Tensor, rule: Rule, segment: int,
                   stats: Sequence[torch.Tensor] | None = None) -> list[float]:
    """Each segment's summed cross-entropy (nats), scored before the model learns from it; the weights
    are the trained ones again when this returns. With lr 0 it is the stateful loss, in segments."""
    with restored(reader) as trained, one_thread():
        return learnt(reader, codes, rule, segment, trained, stats)


def learnt(reader: Reader, codes: torch.Tensor, rule: Rule, segment: int, trained: Sequence[torch.Tensor],
           stats: Sequence[torch.Tensor] | None = None, until: float = math.inf,
           abandoned: Callable[[], bool] = lambda: False) -> list[float]:
    """The reading loop: each segment scored, then learnt from, the weights left as learnt (`trained`:
    what the rms rule decays toward); it stops after the segment that passes time.monotonic() `until`,
    or once whoever asked has gone (`abandoned`)."""
    scores = []
    update = updater(rule, reader.weights, trained, stats)
    state = None
    for x, y in segments(codes, segment):
        with torch.set_grad_enabled(bool(rule.lr)):
            loss, state = reader.step(x, y, state)
        scores.append(loss.item())  # scored: from here on this segment may teach the model
        if rule.lr:
            grads = torch.autograd.grad(loss / len(y), reader.weights, allow_unused=True)
            with torch.no_grad():
                update(grads)
        state = detached(state)
        if time.monotonic() > until or abandoned():
            break
    return scores


def dynamic_loss(reader: Reader, codes: torch.Tensor, rule: Rule, segment: int,
                 stats: Sequence[torch.Tensor] | None = None) -> float:
    """Mean cross-entropy (nats per character) of every character after the first, read dynamically."""
    return sum(dynamic_scores(reader, codes, rule, segment, stats)) / max(1, len(codes) - 1)
