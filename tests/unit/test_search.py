"""The learning rate chosen on the end of the validation text, the lowest loss winning."""

from __future__ import annotations

import pytest
import torch

from charlm.errors import CharlmError
from charlm.evaluate.dynamic import Rule, dynamic_loss, lstm_reader
from charlm.evaluate.search import choose
from charlm.model.lstm import LitCharRNN
from charlm.params import EvaluateParams


@pytest.fixture
def model() -> LitCharRNN:
    torch.manual_seed(0)
    return LitCharRNN(6, embed_dim=4, hidden_size=8)


def settings(**changes: object) -> EvaluateParams:
    return EvaluateParams(**{"rule": "sgd", "lrs": [0.0, 0.5, 50.0], "decay": 0.0, "segment": 10,
                             "search_chars": 120, **changes})


def test_the_lowest_loss_on_the_end_of_the_validation_text_wins(model):
    val = torch.tensor([0, 1, 2, 3, 4, 5] * 60)
    choice = choose(lstm_reader(model), val, settings())
    tried = {row["lr"]: row["val_loss_dynamic"] for row in choice.table["tried"]}
    end = val[-120:]
    for lr in (0.0, 0.5, 50.0):
        assert tried[lr] == round(dynamic_loss(lstm_reader(model), end, Rule("sgd", lr), 10), 4)
    assert choice.rule == Rule("sgd", min(tried, key=tried.get))
    assert choice.table["chars"] == 120 and choice.table["val_loss_stateful"] == tried[0.0]
    assert choice.stats is None


def test_the_start_of_the_validation_text_is_not_read(model):
    val = torch.tensor([0, 1, 2, 3, 4, 5] * 60)
    other = val.clone()
    other[:-120] = 0
    assert choose(lstm_reader(model), val, settings()) == choose(lstm_reader(model), other, settings())


def test_one_lr_is_no_search_but_rms_still_gathers_its_statistics(model):
    choice = choose(lstm_reader(model), torch.randint(0, 6, (300,)), settings(rule="rms", lrs=[0.01],
                                                                             decay=0.1))
    assert choice.rule == Rule("rms", 0.01, 0.1) and choice.table is None
    assert [s.shape for s in choice.stats] == [w.shape for w in model.parameters()]


def test_every_lr_diverging_is_refused(model):
    with torch.no_grad():
        model.head.out.bias.fill_(float("nan"))
    with pytest.raises(CharlmError, match="diverged on the validation text"):
        choose(lstm_reader(model), torch.randint(0, 6, (300,)), settings())
