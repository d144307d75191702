"""Learning-rate schedules: wsd's warm-up, stable phase and decay, and its state across a resume."""

from __future__ import annotations

import pytest
import torch
from torch.optim.lr_scheduler import LambdaLR

from charlm.train.schedules import FLOOR, WarmupStableDecay, cosine_down


def test_wsd_warms_up_holds_then_decays_to_the_floor():
    schedule = WarmupStableDecay(warmup=4)
    assert [schedule(s) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    schedule.decay_from(100, share=0.2)
    assert schedule.steps == 25  # the decay takes 20% of a run whose first 80% were 100 steps
    assert schedule(99) == 1.0 and schedule(100) == 1.0
    assert schedule(125) == pytest.approx(FLOOR) and schedule(500) == pytest.approx(FLOOR)
    assert [round(cosine_down(p), 3) for p in (0, 0.5, 1, 2)] == [1.0, 0.55, 0.1, 0.1]


def test_wsd_state_comes_back_with_the_scheduler():
    """LambdaLR checkpoints the schedule's fields: a resumed run decays where the first one decided."""
    first = WarmupStableDecay(warmup=2)
    scheduler = LambdaLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), first)
    first.decay_from(40, share=0.2)
    state = scheduler.state_dict()
    resumed = WarmupStableDecay(warmup=2)
    LambdaLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), resumed).load_state_dict(state)
    assert resumed == first
