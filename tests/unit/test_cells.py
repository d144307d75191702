"""Which cells follow which property: chosen on one half of a text, measured on the other."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from charlm import LitCharRNN
from charlm.app.cells import BASELINE, BEATS, PROPERTIES, best_cell, character_alone, correlations, rank_cells
from charlm.app.probe import read

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


def test_the_planted_cell_is_found_on_one_half_and_measured_on_the_other():
    model = planted()
    text = quoted_text(n=800)
    cells, _ = read(model, [VOCAB.index(c) for c in text])
    table = rank_cells(cells, text)
    top = table.iloc[0]
    assert (top["property"], top["layer"], top["cell"]) == ("inside quotes", 1, 2) and top["r"] > 0.7
    assert top["r"] == round(correlations(cells[400:], PROPERTIES["inside quotes"](text)[400:])[0, 2], 2)
    assert top[BASELINE] < 0.5  # the quote character alone does not say whether we are inside
    assert top[BEATS] == "yes"  # it remembers the opening quote
    following = table[table["property"] == "inside a word"]  # the character just read says it all
    assert len(following) and set(following[BEATS]) == {"no"}
    assert "inside brackets" not in set(table["property"])  # no brackets: nothing to follow
    assert best_cell(table) == (1, 2)  # no speakers here: the first cell of the ranking


@pytest.mark.parametrize("name, text, expected", [
    ("inside quotes", 'a"bc"d', [0, 1, 1, 1, 0, 0]),
    ("inside brackets", "a(b[c])d", [0, 1, 1, 1, 1, 1, 0, 0]),
    ("position in the line", "ab\ncd", [1, 2, 0, 1, 2]),
    ("after a line break", "a\nb", [0, 1, 0]),
    ("in a speaker's name", "KING:\nNo.", [1, 1, 1, 1, 1, 0, 0, 0, 0]),
])
def test_properties(name, text, expected):
    assert PROPERTIES[name](text).tolist() == expected


@pytest.mark.parametrize("line", ["First Citizen:", "KING RICHARD III:", "Ghost of LADY ANNE:",
                                  "LADY  CAPULET:", "Senators, &C:", "All:"])
def test_speakers_are_found_as_the_book_writes_them(line):
    text = f"Speak.\n\n{line}\nWe are accounted poor citizens:\nthe patricians good.\n"
    marked = PROPERTIES["in a speaker's name"](text)
    start = text.index(line)
    assert marked[start : start + len(line)].all() and marked.sum() == len(line)  # not the verse's colon


def test_the_character_alone_predicts_a_capital_perfectly_and_a_position_not():
    text = "Ab ba\nba Ab\n" * 20  # the capital is always A; a, b and the space stand anywhere in a line
    assert character_alone(text, PROPERTIES["a capital letter"](text), len(text) // 2) == pytest.approx(1)
    assert character_alone(text, PROPERTIES["position in the line"](text), len(text) // 2) < 0.9


def test_a_constant_cell_or_property_correlates_with_nothing():
    cells = np.zeros((5, 1, 2))
    cells[:, 0, 1] = [1, 2, 3, 4, 5]
    assert correlations(cells, np.array([0, 0, 1, 1, 1.0])).round(3).tolist() == [[0.0, 0.866]]
    assert correlations(cells, np.ones(5)).tolist() == [[0.0, 0.0]]
