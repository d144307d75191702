"""The sweep the sample stage and the explorer run: grid, refinement, crossing, chance level."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from charlm import LitCharRNN
from charlm.params import Controls
from charlm.sample.generate import written
from charlm.sample.sweep import Rules, figure, sweep
from charlm.sample.words import words

VOCAB = list(" abcdefg")


def model() -> LitCharRNN:
    """An untrained model that writes short words: a space is likelier than any letter."""
    torch.manual_seed(0)
    m = LitCharRNN(len(VOCAB), embed_dim=8, hidden_size=16, vocab=VOCAB).eval()
    with torch.no_grad():
        m.head[-1].bias[0] += 2.0
    return m


def test_the_sweep_refines_around_the_crossing_without_changing_the_grid_texts():
    m = model()
    controls = Controls(temperatures=[0, 0.5, 1.0, 2.0, 4.0], length=200, count=10, seed=3)
    # the "training text" is text of T 0.6: low temperatures write its words, high ones rarely; greedy
    # text is all spaces (no words: it takes no part)
    training = written(m, [0], Controls(temperatures=[0.6], length=200, count=10, seed=9))[0]
    known = set(words(" ".join(training)))
    result = sweep(m, [0], controls, Rules(known, 1, 0.5), refine=2)
    grid = written(m, [0], controls)
    assert [result.texts[t] for t in controls.temperatures] == grid  # text i of T is the same with refinement
    refined = result.table.loc[result.table["refined"], "temperature"].tolist()
    assert len(refined) == 2 and result.texts.keys() == set(controls.temperatures) | set(refined)
    shares = dict(zip(result.table["temperature"], result.table["recognisable_words"], strict=True))
    below = [t for t in controls.temperatures if shares[t] < 0.5]
    above = [t for t in controls.temperatures if shares[t] >= 0.5]
    assert below and above and result.grid_point == below[0]
    assert max(above) < min(refined) <= max(refined) < below[0]  # between the grid points around it
    c = result.crossing
    assert max(above) < c.at < below[0] and c.low <= c.at <= c.high
    assert list(result.table["temperature"]) == sorted(result.texts)
    counted = result.table[result.table["words"] > 0]
    assert (counted["share_low"] <= counted["recognisable_words"]).all()
    assert (counted["recognisable_words"] <= counted["share_high"]).all()
    assert "Words stop being recognisable from T ≈" in result.sentence()
    assert figure(result).axes[0].get_xscale() == "log"


def test_the_chance_level_is_the_share_for_text_from_character_frequencies_alone():
    """Only 'a' and space, equally often: a word of 3+ letters has exactly 3 with probability 1/2."""
    frequencies = np.zeros(len(VOCAB))
    frequencies[[0, 1]] = 1
    controls = Controls(temperatures=[1.0], length=500, count=2, seed=3)
    result = sweep(model(), [0], controls, Rules({"aaa"}, 3, 0.5), frequencies=frequencies)
    assert result.chance == pytest.approx(0.5, abs=0.02)
    assert sweep(model(), [0], controls, Rules({"aaa"}, 3, 0.5)).chance is None
