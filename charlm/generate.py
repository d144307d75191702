"""Text from a trained model: a prompt continued at one or more softmax temperatures.

The prompt is read once; after that each new character is one compiled step on the carried LSTM
state (`charlm.model_step`). Row r of a request draws its randomness from its own stream, seeded by
(seed, r), so a text depends on the seed, prompt, temperature and row, not on how many rows are
generated together or how the work is chunked: `charlm generate` and the sample stage agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from charlm.data import decode
from charlm.model_step import Model, Stepper
from charlm.prompt import encode_prompt

CHUNK = 64  # characters per compiled call: small enough to print as they come

# `model` below is a LitCharRNN, or a Checkpoint from `charlm.model_step.load_checkpoint` (no Lightning needed).


def stream(model: Model, prompt: torch.Tensor | Sequence[int], temperatures: Sequence[float], length: int,
           seed: int = 0, first_row: int = 0) -> Iterator[np.ndarray]:
    """Blocks of sampled codes (rows, <= CHUNK), one row per temperature, `length` characters in all."""
    if min(temperatures) <= 0:
        raise ValueError(f"temperature must be > 0, got {list(temperatures)}")
    rows, vocab = len(temperatures), model.hparams.vocab_size
    stepper = Stepper(model, rows)
    codes = np.asarray(prompt, dtype=np.int64)
    stepper.read(np.broadcast_to(codes, (rows, len(codes))))
    rngs = [np.random.default_rng([seed, first_row + r]) for r in range(rows)]
    inv_t = 1.0 / np.asarray(temperatures, dtype=np.float64)
    for done in range(0, length, CHUNK):
        n = min(CHUNK, length - done)
        yield stepper.sample(inv_t, np.stack([rng.random((n, vocab)) for rng in rngs]))


def generate(model: Model, prompt: torch.Tensor | Sequence[int], temperatures: Sequence[float], length: int,
             seed: int = 0) -> torch.Tensor:
    """`length` sampled codes after `prompt` for every temperature at once: (len(temperatures), length)."""
    return torch.from_numpy(np.concatenate(list(stream(model, prompt, temperatures, length, seed)), axis=1))


def continue_text(model: Model, prompt: str, temperatures: Sequence[float], length: int, count: int = 1,
                  seed: int = 0, skip_unknown: bool = False,
                  remedy: str = "remove them") -> Iterator[tuple[float, int, str]]:
    """(temperature, text number, piece) as the text is generated: `count` texts per temperature,
    one after the other. Prompt characters outside the model's vocabulary are refused (saying `remedy`)
    or, with `skip_unknown`, dropped."""
    codes = encode_prompt(prompt, model.vocab, skip=skip_unknown, remedy=remedy)
    rows = [(t, i) for t in temperatures for i in range(count)]
    for row, (t, i) in enumerate(rows):
        for block in stream(model, codes, [t], length, seed, first_row=row):
            yield t, i, decode(block[0], model.vocab)
