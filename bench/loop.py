"""The bench's one timed training loop: plain PyTorch steps for a time budget, epoch after epoch, and
the rates over the seconds those steps took. Every bare-loop rate in the bench comes from here.

    timed_loop   any step function, any batches: steps, windows and predicted characters per second
    bare_loop    a LitCharRNN's loss, backward and AdamW step (no Lightning) in timed_loop
    shuffled, streams   the train stage's two kinds of batches, one epoch's worth per call
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader

from charlm import CharDataset, LitCharRNN
from charlm.train.batches import ShuffledBatches, StreamSampler, loader

Batch = tuple[torch.Tensor, torch.Tensor]
Epochs = Callable[[int], Iterable[Batch]]  # epoch number -> that epoch's batches


@dataclass(frozen=True)
class Rates:
    """What a timed loop did, and in how many seconds."""

    steps: int
    windows: int  # rows of the batches
    predicted: int  # characters predicted: the targets' elements (windows x maxlen for "every")
    seconds: float

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds

    @property
    def windows_per_s(self) -> float:
        return self.windows / self.seconds

    @property
    def predicted_per_s(self) -> float:
        return self.predicted / self.seconds


def timed_loop(step: Callable[[torch.Tensor, torch.Tensor], object], epochs: Epochs, seconds: float,
               max_steps: int | None = None, clock: Callable[[], float] = time.perf_counter) -> Rates:
    """`step(x, y)` on batch after batch until `seconds` have passed on `clock` or `max_steps` are done
    (at least one step), taking epoch n + 1's batches (`epochs(n + 1)`) when epoch n's run out. The
    rates are over the seconds from the start to the end of the last step: what was done, in the time
    it took, however far the last step ran past the budget."""
    steps = windows = predicted = epoch = 0
    start = clock()
    while True:
        before = steps
        for x, y in epochs(epoch):
            step(x, y)
            steps += 1
            windows += len(y)
            predicted += y.numel()
            elapsed = clock() - start
            if elapsed >= seconds or steps == max_steps:
                return Rates(steps, windows, predicted, elapsed)
        if steps == before:  # else an empty loader would spin forever
            raise ValueError(f"epoch {epoch} has no batches")
        epoch += 1


def bare_loop(model: LitCharRNN, epochs: Epochs, seconds: float, bf16: bool = False,
              max_steps: int | None = None) -> Rates:
    """Train `model` with plain PyTorch for `seconds`: its loss, backward, and the train stage's optimiser
    (the model's own AdamW, weight decay on its matrices only; no schedule, no Lightning, no carried
    state)."""
    optimiser = model.configure_optimizers()
    optimiser = optimiser["optimizer"] if isinstance(optimiser, dict) else optimiser  # a schedule's: left out

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model.loss(x, y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    return timed_loop(step, epochs, seconds, max_steps)


def shuffled(ds: CharDataset, batch_size: int, seed: int = 0) -> Epochs:
    """The train stage's shuffled batches (carry_state 0): a new order every epoch, as Lightning's
    set_epoch gives the stage."""

    def epoch(n: int) -> DataLoader:
        sampler = ShuffledBatches(len(ds), batch_size, seed)
        sampler.set_epoch(n)
        return loader(ds, sampler)

    return epoch


def streams(ds: CharDataset, batch_size: int) -> Epochs:
    """The train stage's batches with carry_state > 0: `batch_size` streams of back-to-back windows,
    in the same order every epoch."""
    return lambda _: loader(ds, StreamSampler(len(ds), batch_size))
