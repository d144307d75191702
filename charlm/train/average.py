"""train.ema: a moving average of the weights over a share of the run, which validation scores and the
checkpoints keep (Lightning's WeightAveraging with charlm's update)."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from lightning.pytorch.callbacks import WeightAveraging


class MovingAverage(WeightAveraging):
    """train.ema: Lightning's WeightAveraging with an exponential moving average whose horizon is a share
    of the run: after step n it keeps 1 - 1 / (1 + share * n) of itself, so it averages about the last
    `share` of the steps so far (early on it follows the weights; the first validations score trained
    weights, not a mix with the random ones). Validation scores the average and the checkpoints keep it.

    While validating, the module holds the average and the callback the last weights; an interruption
    there swaps them back before InterruptCheckpoint saves, or the resume point would hold them crossed."""

    def __init__(self, share: float) -> None:
        super().__init__(multi_avg_fn=ema_update(share))
        self.validating = False

    def on_validation_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        super().on_validation_epoch_start(trainer, module)
        self.validating = self._average_model is not None

    def on_validation_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        super().on_validation_epoch_end(trainer, module)
        self.validating = False

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception: BaseException) -> None:
        if self.validating:  # Lightning has no public call for the swap its validation hooks make
            self._swap_models(module)
            self.validating = False


def ema_update(share: float) -> Callable[[list[torch.Tensor], list[torch.Tensor], torch.Tensor], None]:
    """The average's update after its n-th step, in place (see MovingAverage)."""

    def update(averages: list[torch.Tensor], currents: list[torch.Tensor], n: torch.Tensor) -> None:
        keep = 1 - 1 / (1 + share * int(n))
        for average, current in zip(averages, currents, strict=True):
            average.lerp_(current, 1 - keep)

    return update
