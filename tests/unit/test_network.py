"""The network's shape, defined once: what the meta device reports is what LitCharRNN builds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from charlm.model.lstm import LitCharRNN
from charlm.model.network import forward_flops, parameter_count, shapes


@pytest.mark.parametrize("vocab, embed, hidden, layers", [(5, 4, 8, 1), (65, 64, 256, 2), (7, 3, 5, 3)])
def test_shapes_and_counts_are_those_of_the_built_model(vocab, embed, hidden, layers):
    model = LitCharRNN(vocab, embed_dim=embed, hidden_size=hidden, num_layers=layers)
    assert shapes(model.hparams) == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert parameter_count(model.hparams) == sum(p.numel() for p in model.parameters())
    lstm = sum(2 * 4 * hidden * ((embed if n == 0 else hidden) + hidden) for n in range(layers))
    assert forward_flops(model.hparams) == lstm + 2 * (hidden * hidden + hidden * vocab)


def test_the_largest_shape_allowed_is_counted_without_memory():
    huge = SimpleNamespace(vocab_size=65_536, embed_dim=8192, hidden_size=8192, num_layers=32)
    assert parameter_count(huge) > 17 * 10**9  # 68 GB in fp32 had it been allocated
