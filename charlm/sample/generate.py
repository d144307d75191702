"""Text from a trained model: a prompt continued at one or more softmax temperatures.

The prompt is read once per batch of texts; after that each new character is one compiled step on
the carried LSTM state of every row (`charlm.model.compiled`). How a character is chosen: temperature T
(0: greedy, always the likeliest character; so is any T too small for 1/T to be a number), top-k
(only the k likeliest; 0: all) and top-p (only the fewest likeliest whose probabilities reach p;
1: all). Text i of a temperature draws its randomness from the stream seeded by (seed, i), the same
at every temperature: text i at T = 0.5 and at T = 2 differ by their temperature only (common random
numbers), and a text depends on the seed, prompt, sampling controls and its number, not on which other
temperatures or texts are generated with it or how the work is chunked. So `charlm generate`, the
sample stage and `charlm explore` agree, one temperature at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from charlm.model.checkpoint import TrainedModel
from charlm.model.compiled import Stepper
from charlm.params.controls import Controls
from charlm.text.splits import decode

CHUNK = 64  # characters per compiled call: small enough to show them as they come
BATCH = 64  # texts generated together at most: memory stays bounded however many are asked for
Prompt = torch.Tensor | Sequence[int]  # character codes
GREEDY_BELOW = 1e-30  # temperatures below this are greedy: 1/T would overflow the scores


def inverse_temperatures(temperatures: Sequence[float]) -> np.ndarray:
    """1/T per row, 0 for greedy rows (T = 0, or too small to invert)."""
    t = np.asarray(temperatures, dtype=np.float64)
    if (t < 0).any() or not np.isfinite(t).all():
        raise ValueError(f"temperature must be >= 0 and finite, got {list(temperatures)}")
    return np.where(t < GREEDY_BELOW, 0.0, 1.0 / np.maximum(t, GREEDY_BELOW))


def stream(model: TrainedModel, prompt: Prompt, temperatures: Sequence[float], length: int,
           seed: int = 0, texts: Sequence[int] | None = None, top_k: int = 0,
           top_p: float = 1.0) -> Iterator[np.ndarray]:
    """Blocks of sampled codes (rows, <= CHUNK), one row per temperature, `length` characters in all;
    row r is text number texts[r] of its temperature (default: text 0 for every row)."""
    if not 0 < top_p <= 1 or top_k < 0:
        raise ValueError(f"top_k must be >= 0 and 0 < top_p <= 1, got {top_k}, {top_p}")
    rows = len(temperatures)
    vocab = model.hparams.vocab_size
    stepper = Stepper(model, rows)
    codes = np.asarray(prompt, dtype=np.int64)
    stepper.read(np.broadcast_to(codes, (rows, len(codes))))
    rngs = [np.random.default_rng([seed, i]) for i in (texts if texts is not None else [0] * rows)]
    inv_t = inverse_temperatures(temperatures)
    for done in range(0, length, CHUNK):
        n = min(CHUNK, length - done)
        uniforms = np.stack([rng.random((n, vocab)) for rng in rngs])
        yield stepper.sample(inv_t, np.full(rows, top_k), np.full(rows, top_p), uniforms)


def generate(model: TrainedModel, prompt: Prompt, temperatures: Sequence[float], length: int,
             seed: int = 0, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """`length` sampled codes after `prompt` for every temperature at once: (len(temperatures), length)."""
    blocks = stream(model, prompt, temperatures, length, seed, top_k=top_k, top_p=top_p)
    return torch.from_numpy(np.concatenate(list(blocks), axis=1))


def texts(model: TrainedModel, prompt: Prompt, controls: Controls) -> Iterator[tuple[int, str]]:
    """(row, piece) as `controls.count` texts per temperature are generated, BATCH rows at a time: row r
    is text r % count at temperature temperatures[r // count]. The rows of a batch grow together, a
    piece of each in turn; each text has `controls.length` characters."""
    temperatures, count = controls.temperatures, controls.count
    total = len(temperatures) * count
    for first in range(0, total, BATCH):
        rows = range(first, min(total, first + BATCH))
        blocks = stream(model, prompt, [temperatures[r // count] for r in rows], controls.length,
                        controls.seed, [r % count for r in rows], controls.top_k, controls.top_p)
        for block in blocks:
            for i, codes in enumerate(block):
                yield first + i, decode(codes, model.vocab)


def written(model: TrainedModel, prompt: Prompt, controls: Controls) -> list[list[str]]:
    """The finished texts: for each of controls.temperatures (in order), its `count` texts."""
    rows = [""] * (len(controls.temperatures) * controls.count)
    for row, piece in texts(model, prompt, controls):
        rows[row] += piece
    return [rows[i : i + controls.count] for i in range(0, len(rows), controls.count)]
