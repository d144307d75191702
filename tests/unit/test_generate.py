"""Generation: reproducible texts that depend on their row, never on the batch or the chunks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from charlm import LitCharRNN
from charlm.params import Controls
from charlm.sample.generate import BATCH, generate, inverse_temperatures, stream, texts, written
from charlm.text.splits import decode


def model() -> LitCharRNN:
    torch.manual_seed(0)
    return LitCharRNN(12, embed_dim=8, hidden_size=16, vocab=list("abcdefghijkl")).eval()


def test_generate_one_row_per_temperature_and_reproducible():
    m = model()
    a = generate(m, [1, 2, 3], [0.2, 1.0, 2.0], 50, seed=7)
    assert a.shape == (3, 50) and a.min() >= 0 and a.max() < 12
    assert torch.equal(a, generate(m, [1, 2, 3], [0.2, 1.0, 2.0], 50, seed=7))
    assert not torch.equal(a, generate(m, [1, 2, 3], [0.2, 1.0, 2.0], 50, seed=8))


def test_a_text_depends_on_its_number_not_on_the_batch_or_chunks():
    m = model()
    together = generate(m, [1, 2, 3], [0.5, 1.0, 2.0], 150, seed=7)  # 150 > one chunk
    alone = np.concatenate(list(stream(m, [1, 2, 3], [1.0], 150, seed=7)), axis=1)
    assert np.array_equal(together[1].numpy(), alone[0])
    third = np.concatenate(list(stream(m, [1, 2, 3], [1.0, 1.0], 150, seed=7, texts=[2, 0])), axis=1)
    assert np.array_equal(third[1], alone[0]) and not np.array_equal(third[0], alone[0])


def test_text_i_is_the_same_whether_its_temperature_comes_alone_or_with_others():
    """`charlm generate -t 1.0 --count 3` prints the texts the sample stage wrote for T = 1.0 among others."""
    m = model()
    stage = written(m, [1, 2, 3], Controls(temperatures=[0.5, 1.0, 2.0], length=80, count=3, seed=7))
    alone = written(m, [1, 2, 3], Controls(temperatures=[1.0], length=80, count=3, seed=7))
    assert stage[1] == alone[0] and len(set(alone[0])) == 3
    greedy = written(m, [1, 2, 3], Controls(temperatures=[0.0], length=80, count=2, seed=7))[0]
    assert greedy[0] == greedy[1]  # no randomness at T = 0


def test_texts_come_row_by_row_in_batches():
    """Row r is text r % count at temperature r // count; more rows than a batch give the same texts."""
    m = model()
    count = BATCH // 2 + 3  # two temperatures: two batches
    pieces: dict[int, str] = {}
    controls = Controls(temperatures=[0.5, 1.0], length=100, count=count, seed=7)
    for row, piece in texts(m, [1, 2, 3], controls):
        pieces[row] = pieces.get(row, "") + piece
    assert sorted(pieces) == list(range(2 * count)) and {len(t) for t in pieces.values()} == {100}
    expected = [decode(np.concatenate(list(stream(m, [1, 2, 3], [t], 100, seed=7, texts=[i])), axis=1)[0],
                       m.vocab) for t in (0.5, 1.0) for i in range(count)]
    assert [pieces[r] for r in range(2 * count)] == expected
    finished = written(m, [1, 2, 3], controls)  # the same texts, finished, by temperature
    assert finished == [[pieces[r] for r in range(count)], [pieces[r] for r in range(count, 2 * count)]]
    twice = written(m, [1, 2, 3], Controls(temperatures=[0.5, 0.5], length=30, seed=2))
    assert len(twice) == 2 and twice[0] == twice[1]  # the same temperature twice: the same text 1


def test_temperatures_at_the_float_limits():
    assert inverse_temperatures([0.0, 1e-320, 1e-31, 0.5]).tolist() == [0.0, 0.0, 0.0, 2.0]
    with pytest.raises(ValueError, match="temperature must be >= 0 and finite"):
        inverse_temperatures([float("inf")])
    with pytest.raises(ValueError, match="temperature must be >= 0 and finite"):
        inverse_temperatures([-1.0])
