"""bench/loop.py: the timed loop crosses epochs and divides by the seconds it took, whatever the
machine's speed (a fake clock or a step cap decides when it stops)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from bench.loop import Rates, bare_loop, shuffled, streams, timed_loop
from charlm import CharDataset, LitCharRNN
from charlm.text.splits import load_vocab

BATCHES = [(torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long))] * 3  # one epoch


def ticking(seconds_per_call: float) -> Callable[[], float]:
    """A clock that moves `seconds_per_call` each time it is read: once at the start, once per step."""
    now = -seconds_per_call

    def clock() -> float:
        nonlocal now
        now += seconds_per_call
        return now

    return clock


def run(seconds: float, tick: float, max_steps: int | None = None) -> tuple[Rates, list[int], list[int]]:
    """timed_loop over 3-batch epochs: its rates, the epochs it asked for, and the step of each call."""
    asked: list[int] = []
    done: list[int] = []

    def epochs(n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        asked.append(n)
        return BATCHES

    rates = timed_loop(lambda x, y: done.append(len(done)), epochs, seconds, max_steps, clock=ticking(tick))
    return rates, asked, done


def test_the_loop_crosses_epochs_until_the_budget_is_spent():
    rates, asked, done = run(seconds=7, tick=1)
    assert asked == [0, 1, 2]  # 3 + 3 + 1 steps: a new iterator each time one runs out
    assert len(done) == rates.steps == 7
    assert (rates.windows, rates.predicted, rates.seconds) == (14, 56, 7)
    assert (rates.steps_per_s, rates.windows_per_s, rates.predicted_per_s) == (1, 2, 8)


def test_the_rates_are_over_the_elapsed_seconds_not_the_budget():
    rates, _, _ = run(seconds=7, tick=2)  # each step takes 2 s: the 4th ends at 8 s, past the budget
    assert (rates.steps, rates.seconds) == (4, 8)
    assert rates.windows_per_s == 8 / 8  # not 8 / 7


def test_a_step_cap_stops_the_loop_first():
    rates, asked, _ = run(seconds=1e9, tick=1, max_steps=5)
    assert (rates.steps, rates.seconds, asked) == (5, 5, [0, 1])


def test_a_zero_budget_still_takes_one_step():
    rates, _, done = run(seconds=0, tick=1)
    assert rates.steps == len(done) == 1


def test_an_epoch_without_batches_is_refused():
    with pytest.raises(ValueError, match="epoch 0 has no batches"):
        timed_loop(lambda x, y: None, lambda n: [], 1.0)


@pytest.mark.parametrize("batches", [shuffled, streams])
def test_the_bare_loop_trains_a_model_past_an_epoch(prepared_dir, batches):
    torch.manual_seed(0)
    ds = CharDataset(prepared_dir, 16, 16, objective="every")
    per_epoch = sum(1 for _ in batches(ds, 64)(0))
    model = LitCharRNN(len(load_vocab(prepared_dir)), embed_dim=8, hidden_size=16, num_layers=1)
    before = [p.detach().clone() for p in model.parameters()]
    rates = bare_loop(model, batches(ds, 64), seconds=1e9, max_steps=2 * per_epoch + 1)
    assert rates.steps == 2 * per_epoch + 1
    assert rates.predicted == 16 * rates.windows
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_shuffled_batches_change_order_each_epoch(prepared_dir):
    ds = CharDataset(prepared_dir, 16, 16, objective="every")
    first, second = (torch.cat([x for x, _ in shuffled(ds, 8)(n)]).tolist() for n in (0, 1))
    assert sorted(first) == sorted(second)  # the same windows
    assert first != second  # in another order
