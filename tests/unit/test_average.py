"""train.ema's update: an average over a share of the run."""

from __future__ import annotations

import pytest
import torch

from charlm.train.average import ema_update


def test_the_average_spans_its_share_of_the_run():
    """ema 0.1: the first update takes the new weights; after n steps the average weighs the new ones by
    1 / (1 + n / 10), an horizon of about a tenth of the steps so far."""
    update = ema_update(0.1)
    for n, weight in ((0, 1.0), (90, 0.1), (10**6, 1e-5)):
        average = [torch.zeros(1)]
        update(average, [torch.ones(1)], torch.tensor(n))
        assert average[0].item() == pytest.approx(weight, rel=1e-3)
