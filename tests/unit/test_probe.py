"""What a model does with a text: the probabilities it gave, and the cells that follow properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from charlm import LitCharRNN, tempered_softmax
from charlm.app.probe import PROPERTIES, correlations, probabilities, rank_cells, read

VOCAB = list(' "abcdefghij')


def planted(hidden: int = 4, cell: int = 2) -> LitCharRNN:
    """A one-layer model whose cell `cell` flips its state at every '"' and keeps it otherwise: it follows
    "inside quotes" (after an opening quote its state is +1, after a closing one -1); every other cell
    stays at zero. Gate rows in PyTorch's order: input, forget, cell candidate, output."""
    V = len(VOCAB)
    H = hidden
    model = LitCharRNN(V, embed_dim=V, hidden_size=H, num_layers=1, dropout=0.0, vocab=VOCAB).eval()
    quote = VOCAB.index('"')
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.embed.weight.copy_(torch.eye(V))  # one-hot characters
        w_ih = model.lstm.weight_ih_l0
        w_hh = model.lstm.weight_hh_l0
        bias = model.lstm.bias_ih_l0
        w_ih[cell, quote] = 20.0  # input gate: open on a quote only
        bias[cell] = -10.0
        w_ih[H + cell, quote] = -20.0  # forget gate: forget on a quote only
        bias[H + cell] = 10.0
        w_hh[2 * H + cell, cell] = -20.0  # candidate: the opposite of the state now
        bias[2 * H + cell] = 5.0
        bias[3 * H + cell] = 10.0  # output gate: open
    return model


def quoted_text(seed: int = 0, n: int = 400) -> str:
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list("abcdefghij  "), size=n).tolist()).replace("  ", ' "')


def test_the_planted_cell_is_found_first():
    model = planted()
    text = quoted_text()
    cells, _ = read(model, [VOCAB.index(c) for c in text])
    assert cells.shape == (len(text), 1, 4)
    table = rank_cells(cells, text)
    top = table.iloc[0]
    assert (top["property"], top["layer"], top["cell"]) == ("inside quotes", 1, 2) and top["r"] > 0.7


def test_probabilities_are_the_tempered_softmax_of_the_model_logits():
    torch.manual_seed(0)
    model = LitCharRNN(len(VOCAB), embed_dim=5, hidden_size=8, vocab=VOCAB).eval()
    prompt, text = [1, 2, 3], [4, 5, 0, 6]
    with torch.no_grad():
        logits = model.every_logits(torch.tensor([prompt + text]))[0, len(prompt) - 1 : -1]
    for t in (0.0, 0.5, 1.0, 2.0):
        expected = tempered_softmax(logits.double(), t).numpy()
        assert np.allclose(probabilities(model, prompt, text, t), expected, atol=1e-5), t


@pytest.mark.parametrize("name, text, expected", [
    ("inside quotes", 'a"bc"d', [0, 1, 1, 1, 0, 0]),
    ("inside brackets", "a(b[c])d", [0, 1, 1, 1, 1, 1, 0, 0]),
    ("position in the line", "ab\ncd", [1, 2, 0, 1, 2]),
    ("after a line break", "a\nb", [0, 1, 0]),
    ("in a speaker's name", "KING:\nNo.", [1, 1, 1, 1, 1, 0, 0, 0, 0]),
])
def test_properties(name, text, expected):
    assert PROPERTIES[name](text).tolist() == expected


def test_a_constant_cell_or_property_correlates_with_nothing():
    cells = np.zeros((5, 1, 2))
    cells[:, 0, 1] = [1, 2, 3, 4, 5]
    assert correlations(cells, np.array([0, 0, 1, 1, 1.0])).round(3).tolist() == [[0.0, 0.866]]
    assert correlations(cells, np.ones(5)).tolist() == [[0.0, 0.0]]
