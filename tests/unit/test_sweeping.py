"""The sweep's table and folded texts, as the explorer shows them."""

from __future__ import annotations

import torch

from charlm import LitCharRNN
from charlm.app.sweeping import SHOWN, rows, texts_view
from charlm.params import Controls
from charlm.sample.sweep import Rules, sweep

VOCAB = list(" abc<")


def test_a_row_and_a_fold_per_temperature_the_prompt_marked_and_escaped():
    torch.manual_seed(0)
    model = LitCharRNN(len(VOCAB), embed_dim=4, hidden_size=8, vocab=VOCAB).eval()
    controls = Controls(temperatures=[0.5, 2.0], length=80, count=5)
    result = sweep(model, [4, 1], controls, Rules({"abc"}, 1, 0.5))
    table = rows(result)
    assert list(table["T"]) == sorted(result.texts) and list(table.columns) == [
        "T", "added", "recognisable words", "band", "words scored"]
    view = texts_view(result, "<a")
    assert view.count("<details") == len(result.texts)
    assert view.count('<span class="prompt" title="your prompt">&lt;a</span>') == SHOWN * len(result.texts)
    assert f"(the first {SHOWN} of 5 texts)" in view
