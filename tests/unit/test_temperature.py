"""tempered_softmax, the exercise's function: its limits, shapes and dtypes."""

from __future__ import annotations

import math

import pytest
import torch

from charlm import tempered_softmax
from charlm.sample.temperature import plot_curves

LOGITS = torch.tensor([2.0, 1.0, 0.5, -1.0, 0.0])


def entropy(p: torch.Tensor) -> float:
    return float(-(p * p.clamp_min(1e-30).log()).sum())


def test_sums_to_one_and_t1_is_softmax():
    for t in (0.1, 0.5, 1.0, 3.0):
        assert tempered_softmax(LOGITS, t).sum().item() == pytest.approx(1.0)
    assert torch.allclose(tempered_softmax(LOGITS, 1.0), torch.softmax(LOGITS, -1))


def test_small_t_concentrates_and_large_t_flattens():
    ents = [entropy(tempered_softmax(LOGITS, t)) for t in (0.05, 0.5, 1.0, 2.0, 50.0)]
    assert ents == sorted(ents)
    assert tempered_softmax(LOGITS, 1e-6)[0].item() == pytest.approx(1.0)  # tends to argmax
    assert torch.allclose(tempered_softmax(LOGITS, 1e6), torch.full((5,), 0.2), atol=1e-5)


def test_the_limits_are_argmax_and_uniform():
    assert tempered_softmax(LOGITS, 0).tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert tempered_softmax(torch.tensor([3.0, 3.0, 1.0]), 0).tolist() == [0.5, 0.5, 0.0]  # ties share
    assert tempered_softmax(LOGITS, math.inf).tolist() == pytest.approx([0.2] * 5)
    assert tempered_softmax(torch.tensor([1.0, -math.inf, 0.0]), math.inf).tolist() == [0.5, 0.0, 0.5]


def test_an_impossible_outcome_stays_impossible():
    for t in (0.0, 1e-30, 0.5, 1.0, 1e30, math.inf):
        p = tempered_softmax(torch.tensor([0.0, -math.inf, 1.0]), t)
        assert torch.isfinite(p).all() and p[1] == 0 and p.sum().item() == pytest.approx(1.0), t


def test_stable_for_extreme_logits_and_tiny_t():
    p = tempered_softmax(torch.tensor([1e30, -1e30, 0.0, 1e30]), 1e-30)
    assert torch.isfinite(p).all() and p.tolist() == [0.5, 0.0, 0.0, 0.5]
    assert torch.isfinite(tempered_softmax(torch.tensor([-1e4, -1e4 - 1]), 1e-3)).all()


@pytest.mark.parametrize("t", [-1.0, math.nan])
def test_rejects_negative_or_undefined_t(t):
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        tempered_softmax(LOGITS, t)


def test_the_dtype_is_kept():
    assert tempered_softmax(LOGITS.double(), 0.7).dtype == torch.float64
    assert tempered_softmax([2, 1, 0], 1.0).dtype == torch.get_default_dtype()
    exact = torch.tensor([1.0, 1.0 + 1e-12], dtype=torch.float64)
    assert tempered_softmax(exact, 1.0)[1] > tempered_softmax(exact, 1.0)[0]  # float32 would tie them


def test_one_temperature_per_row():
    """A (B,) temperature is one per row, even when B equals the number of outcomes."""
    logits = torch.randn(3, 3)
    t = torch.tensor([0.5, 1.0, 2.0])
    p = tempered_softmax(logits, t)
    for row in range(3):
        assert torch.allclose(p[row], tempered_softmax(logits[row], t[row].item()))
    assert torch.allclose(tempered_softmax(logits, t[:, None]), p)  # the explicit (B, 1) form agrees
    with pytest.raises(ValueError, match=r"T of shape \(2,\) for logits of shape \(3, 3\)"):
        tempered_softmax(logits, torch.tensor([1.0, 2.0]))


@pytest.mark.parametrize("text", ["$5 or 10% of $60", "$x_^$", "$"])
def test_dollar_signs_are_plotted_as_written(tmp_path, text):
    """matplotlib reads text between two '$' as a formula (and fails on these)."""
    plot_curves(LOGITS, [text, "$", "b", "c", "d"], [0.5, 1.0], f"Next character after {text!r}",
                tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_the_drawn_curves_are_the_softmax_over_every_outcome():
    """Drawing the 3 likeliest of 8 outcomes must not renormalise over those 3: the others keep their
    share, most at a high temperature."""
    import numpy as np

    from charlm.sample.temperature import curve_figure

    logits = torch.tensor([0.5, 3.0, -1.0, 2.0, 0.0, 1.0, -2.0, 2.5])
    fig = curve_figure(logits, list("abcdefgh"), [0.5, 1.0, 4.0], "title", top=3)
    lines = fig.axes[0].get_lines()
    for line, t in zip(lines, [0.5, 1.0, 4.0], strict=True):
        assert np.allclose(line.get_ydata(), tempered_softmax(logits, t)[[1, 7, 3]].numpy())
    assert [label.get_text() for label in fig.axes[0].get_xticklabels()] == ["b", "h", "d"]
    assert lines[-1].get_ydata().sum() < 0.6  # at T = 4 the five left out hold the rest
