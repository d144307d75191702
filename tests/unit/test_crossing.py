"""The crossing of a falling share with a threshold: interpolation, no-crossing cases, the bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from charlm.sample.crossing import crossing, first_crossing, refinement


def counts(shares: list[float], texts: int = 10, words: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Texts of `words` words each whose pooled share is exactly `shares` (rounded to a word)."""
    found = np.array([[round(s * words)] * texts for s in shares])
    return found, np.full_like(found, words)


def test_the_crossing_is_interpolated_in_log_t_between_the_points_around_it():
    t = np.array([1.0, 2.0, 4.0])
    # 0.6 at T 2, 0.2 at T 4: a quarter of the way from log 2 to log 4
    assert first_crossing(t, np.array([0.8, 0.6, 0.2]), 0.5) == pytest.approx(2 ** 1.25)
    found, words = counts([0.8, 0.6, 0.2])
    c = crossing(t, found, words, 0.5)
    assert c.at == pytest.approx(2 ** 1.25, abs=1e-3)
    assert c.low == c.high == c.at  # every text alike: nothing to resample
    # the first crossing (0.7 at T 2, 0.2 at T 4), in any input order; T = 0 (greedy) takes no part
    found, words = counts([0.9, 0.2, 0.7, 0.4, 1.0])
    assert crossing(np.array([1, 4, 2, 8, 0]), found, words, 0.5).at == pytest.approx(2 ** 1.4, abs=1e-3)


def test_no_crossing_in_the_grid_is_said_so():
    found, words = counts([0.9, 0.8, 0.7])
    above = crossing(np.array([0.5, 1.0, 2.0]), found, words, 0.5)
    assert (above.at, above.low, above.high) == (None, None, None)
    assert above.note == "no crossing in the grid: the share stays at or above 0.5 up to T = 2"
    found, words = counts([0.4, 0.3])
    below = crossing(np.array([0.5, 1.0]), found, words, 0.5)
    assert below.at is None
    assert below.note == "no crossing in the grid: the share is already below 0.5 at T = 0.5"
    assert math.isnan(first_crossing(np.array([1.0, 2.0]), np.array([0.9, np.nan]), 0.5))


def noisy(texts: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Texts of 60 words whose words are recognisable with probability 0.9, 0.65, 0.35, 0.1."""
    rng = np.random.default_rng(seed)
    words = np.full((4, texts), 60)
    return rng.binomial(words, np.array([0.9, 0.65, 0.35, 0.1])[:, None]), words


def test_the_bootstrap_interval_holds_the_crossing_and_narrows_with_more_texts():
    t = np.array([0.5, 1.0, 2.0, 4.0])
    widths = {}
    for texts in (10, 40, 160):
        c = crossing(t, *noisy(texts, seed=3), threshold=0.5)
        assert c.low < c.at < c.high and "90% bootstrap interval" in c.note
        widths[texts] = math.log(c.high / c.low)
    assert widths[10] > widths[40] > widths[160]
    assert widths[10] / widths[160] > 2  # about sqrt(16) = 4 for a standard error


def test_refinement_adds_points_between_the_grid_points_around_the_crossing():
    t = np.array([0, 0.5, 1.0, 2.0, 4.0])
    extra = refinement(t, np.array([1.0, 0.9, 0.6, 0.3, 0.1]), 0.5, points=3)
    assert extra == pytest.approx([2 ** 0.25, 2 ** 0.5, 2 ** 0.75], abs=1e-3)
    assert refinement(t, np.array([1.0, 0.9, 0.8, 0.7, 0.6]), 0.5, points=3) == []
    assert refinement(t, np.array([1.0, 0.9, 0.6, 0.3, 0.1]), 0.5, points=0) == []


def test_one_text_per_temperature_gives_a_crossing_without_an_interval():
    found, words = counts([0.8, 0.6, 0.2], texts=1)
    c = crossing(np.array([1.0, 2.0, 4.0]), found, words, 0.5)
    assert c.at == pytest.approx(2 ** 1.25, abs=1e-3) and (c.low, c.high) == (None, None)
    assert c.note.startswith("interpolated in log T; one text per temperature gives no interval")


def test_no_temperature_with_words_is_no_crossing_and_no_refinement():
    """Greedy text only (T = 0), or texts too short to hold a word: nothing to interpolate."""
    assert refinement(np.array([0.0]), np.array([0.9]), 0.5, points=3) == []
    assert refinement(np.array([1.0, 2.0]), np.array([np.nan, np.nan]), 0.5, points=3) == []
    assert math.isnan(first_crossing(np.array([]), np.array([]), 0.5))
