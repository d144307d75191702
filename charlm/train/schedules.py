"""Learning-rate schedules: for every optimiser step, a multiplier of `train.lr`.

    constant  1 throughout (the exercise's)
    wsd       warm-up (linear, a share of the first epoch), stable at 1, then a cosine down to 1/10
              that starts when training decides (the time budget running low, a plateau of val_loss
              without a time cap, the last epochs, or a fixed step), so one schedule fits any
              machine's speed; the run ends when the decay does

A schedule is made complete before the optimiser is built (LambdaLR evaluates step 0 then), handed
to `LitCharRNN`, which wraps it in LambdaLR, and to `callbacks.DecayTrigger`, which starts its decay.
LambdaLR checkpoints the fields of a callable object, so a resumed run continues where it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FLOOR = 0.1  # the decay ends at lr / 10


def cosine_down(progress: float) -> float:
    """From 1 at progress 0 down to FLOOR at 1 (and after), along half a cosine."""
    return FLOOR + (1 - FLOOR) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@dataclass
class WarmupStableDecay:
    """Linear warm-up over `warmup` steps, 1 until step `start`, then down to FLOOR over `steps` steps.
    `start` is None until `decay_from` sets it."""

    warmup: int = 0
    start: int | None = None
    steps: int = 1

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.start is None or step < self.start:
            return 1.0
        return cosine_down((step - self.start) / self.steps)

    @staticmethod
    def decay_steps(start: int, share: float) -> int:
        """Steps of a decay from step `start` that takes `share` of the run: at an even pace it ends
        within the budget that step `start` was (1 - share) of."""
        return max(1, round(start * share / (1 - share)))

    def decay_from(self, start: int, share: float, steps: int | None = None) -> None:
        """Decay from step `start` over `steps` steps (None: the `share` of the run, see decay_steps)."""
        self.start = start
        self.steps = steps or self.decay_steps(start, share)

