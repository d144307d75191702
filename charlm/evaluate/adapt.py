"""Adapt a trained model to a text for a bounded time: dynamic evaluation that keeps what it learnt.

    the settings the evaluate stage chose for this model (metrics/evaluate.json's `dynamic`), else
    params.yaml's `evaluate` section (`reading`)
    -> the rms rule's gradient statistics on held-out text: the end of the validation text, as the
       evaluate stage gathers them, or without prepared data, a text the model writes itself
    -> the text's end set aside (a tenth, at most MAX_CHECKED characters): it is never learnt from
    -> read the rest once in segments, each scored, then learnt from (charlm.evaluate.dynamic), until
       it ends or the time is up
    -> the adapted weights, in memory only (the checkpoint on disk is never written), and the losses:
       on the end set aside with the trained weights ("before") and with the adapted ones ("after"),
       and on the part read while adapting, each segment scored before its own update

`charlm generate --adapt FILE` and the explorer's Adapt tab write with the adapted weights: a chapter
of another author, read once, moves the names, spelling and style of what the model writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from charlm import params
from charlm.errors import CharlmError
from charlm.evaluate.dynamic import Rule, dynamic_loss, gradient_stats, learnt, lstm_reader, one_thread
from charlm.model.checkpoint import Checkpoint, TrainedModel
from charlm.model.network import layers
from charlm.params import Controls
from charlm.params.schema import EvaluateParams
from charlm.sample.generate import written
from charlm.text.splits import load_split, load_vocab
from charlm.text.standins import plain_typography

STATEFUL = Rule("sgd", 0.0)  # reading without learning: the stateful loss
MAX_WRITTEN = 100_000  # characters a model writes for its own statistics at most (5x the default search's)
READ_RATE = 100_000  # characters per second a reading cannot beat (this CPU reads about 5,000)
STATS_SHARE = 0.25  # of the time: the rms rule's statistics, gathered first
CHECK_SHARE = 0.1  # of the text (its end) and of the time: scored before and after adapting, never learnt
MAX_CHECKED = 5_000  # characters of that end at most: scoring it twice stays within the time's share
MIN_CHARS = 4  # of a text to adapt to: two to read, two to score it on


@dataclass(frozen=True)
class Reading:
    """How a text is read while adapting: the rule, the segment, and how much held-out text the rms
    rule's statistics are gathered on."""

    rule: Rule
    segment: int
    stats_chars: int


def reading(cfg: EvaluateParams, chosen: dict[str, Any] | None) -> Reading:
    """The evaluate stage's choice for this model (`chosen`: metrics/evaluate.json's `dynamic`), else
    `cfg`'s rule and segment with the middle of its learning rates (the search's centre)."""
    if chosen is None:
        return Reading(Rule(cfg.rule, sorted(cfg.lrs)[len(cfg.lrs) // 2], cfg.decay), cfg.segment,
                       cfg.search_chars)
    try:
        if chosen["rule"] not in ("sgd", "rms"):
            raise ValueError(chosen["rule"])
        rule = Rule(chosen["rule"], float(chosen["lr"]), float(chosen.get("decay", 0.0)))
        return Reading(rule, int(chosen["segment"]), cfg.search_chars)
    except (KeyError, TypeError, ValueError):
        raise CharlmError("metrics/evaluate.json has no valid `dynamic` settings: rerun the evaluate stage"
                          " (dvc repro -f evaluate)") from None


@dataclass(frozen=True)
class Adapted:
    """The adapted model; the loss (nats per character) on the `checked` characters at the text's end,
    which it never learnt from, with the trained weights (`before`) and the adapted ones (`after`); the
    loss on the `chars` characters it read while adapting (`online`: each segment before its update);
    the seconds it took."""

    model: Checkpoint
    before: float
    online: float
    after: float
    chars: int
    checked: int
    seconds: float


def max_chars(seconds: float) -> int:
    """The most characters a reading of `seconds` can get through (at READ_RATE): the rest of a text
    need not even be encoded."""
    return int(seconds * READ_RATE) + 1


def text_codes(text: str, vocab: list[str], name: str, limit: int | None = None) -> tuple[torch.Tensor, str]:
    """The text's codes (line ends as "\n", curly quotes and dashes as the model's plain ones; its first
    `limit` characters), the characters the model does not know left out, and those characters: a model
    learns no new character by reading."""
    text = text[: None if limit is None else 2 * limit].replace("\r\n", "\n").replace("\r", "\n")[:limit]
    text = plain_typography(text, vocab)
    index = {c: i for i, c in enumerate(vocab)}
    codes = [index[c] for c in text if c in index]
    if len(codes) < MIN_CHARS:
        raise CharlmError(f"{name} has {len(codes)} characters the model knows: adapting needs at least"
                          f" {MIN_CHARS}")
    return torch.tensor(codes), "".join(sorted(set(text) - index.keys()))


def modules(model: TrainedModel) -> nn.Module:
    """The checkpoint's layers with its weights, without Lightning."""
    h = model.hparams
    embed, lstm, head = layers(h.vocab_size, h.embed_dim, h.hidden_size, h.num_layers, 0.0)
    module = nn.ModuleDict({"embed": embed, "lstm": lstm, "head": head})
    module.load_state_dict(model.state_dict())
    return module.eval()


def project_reading(metrics: Path | None) -> Reading:
    """The reading of a project's model: the evaluate stage's choice in `metrics` (metrics/evaluate.json,
    when the model is the pipeline's and the stage has run), else params.yaml's evaluate section."""
    chosen = None
    if metrics is not None and metrics.is_file():
        try:
            chosen = json.loads(metrics.read_text(encoding="utf-8"))["dynamic"]
        except (ValueError, KeyError, TypeError):
            raise CharlmError(f"{metrics} is not the evaluate stage's metrics: rerun it (dvc repro -f"
                              " evaluate)") from None
    return reading(params.load("evaluate"), chosen)


def validation_codes(data: Path | None, vocab: list[str]) -> torch.Tensor | None:
    """The prepared validation text's codes, if `data` holds it for this vocabulary."""
    if data is None or not (data / "val.npy").is_file() or load_vocab(data) != vocab:
        return None
    return load_split(data, "val")


def held_out(model: TrainedModel, val: torch.Tensor | None, chars: int) -> torch.Tensor:
    """Text the model has not learnt from and will not be scored on: the last `chars` characters of the
    validation text, or without one, `chars` characters the model writes at temperature 1 (the gradients
    it expects on its own text)."""
    if val is not None:
        return val[-chars:]
    text = written(model, [0], Controls(temperatures=[1.0], length=min(chars, MAX_WRITTEN)))[0][0]
    return torch.tensor([model.vocab.index(c) for c in text])


def checked_end(codes: torch.Tensor) -> int:
    """How many characters at the end of `codes` are set aside to score the adapting on."""
    return min(MAX_CHECKED, max(2, int(len(codes) * CHECK_SHARE)))


def adapt(model: TrainedModel, codes: torch.Tensor, seconds: float, how: Reading,
          val: torch.Tensor | None, abandoned: Callable[[], bool] = lambda: False) -> Adapted:
    """`model` adapted to the text `codes` (at least MIN_CHARS characters), read `how`, for about
    `seconds`, or until whoever asked has gone (`abandoned`); `val`: the validation text's codes, for the
    rms rule's statistics (None: the model's own text)."""
    start = time.monotonic()
    module = modules(model)
    reader = lstm_reader(module)
    stats = gradient_stats(reader, held_out(model, val, how.stats_chars), how.segment,
                           until=start + STATS_SHARE * seconds, abandoned=abandoned) \
        if how.rule.name == "rms" else None
    trained = [w.detach().clone() for w in reader.weights]
    text, end = codes[: -checked_end(codes)], codes[-checked_end(codes):]
    with one_thread():
        scores = learnt(reader, text, how.rule, how.segment, trained, stats,
                        until=start + (1 - CHECK_SHARE) * seconds, abandoned=abandoned)
    if abandoned():  # nobody waits for the rest: the scores, and what the caller would write next
        raise CharlmError("the adapting was abandoned: whoever asked for it has gone")
    chars = min(len(scores) * how.segment, len(text) - 1)
    adapted = Checkpoint({k: v.detach().clone() for k, v in module.state_dict().items()}, model.hparams,
                         model.vocab)
    after = dynamic_loss(reader, end, STATEFUL, how.segment)
    before = dynamic_loss(lstm_reader(modules(model)), end, STATEFUL, how.segment)
    return Adapted(adapted, round(before, 4), round(sum(scores) / chars, 4), round(after, 4), chars,
                   len(end) - 1, round(time.monotonic() - start, 1))
