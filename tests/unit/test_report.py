"""The evaluate stage's metrics: the test text three ways, the settings used and the search."""

from __future__ import annotations

import math

import pytest
import torch

from charlm.errors import CharlmError
from charlm.evaluate.report import evaluate
from charlm.evaluate.score import block_loss
from charlm.model.lstm import LitCharRNN
from charlm.params import EvaluateParams
from charlm.text.splits import load_split, load_vocab
from tests.helpers.text import make_text, prepare_text


def settings(**changes: object) -> EvaluateParams:
    return EvaluateParams(**{"rule": "rms", "lrs": [0.0, 0.001], "decay": 0.01, "segment": 20,
                             "search_chars": 300, **changes})


@pytest.fixture
def model(prepared_dir) -> LitCharRNN:
    torch.manual_seed(0)
    return LitCharRNN(len(load_vocab(prepared_dir)), embed_dim=4, hidden_size=8).eval()


def test_the_metrics(prepared_dir, model):
    before = [w.clone() for w in model.parameters()]
    threads = torch.get_num_threads()
    metrics = evaluate(model, prepared_dir, settings())
    assert metrics["test_loss"] == round(block_loss(model, prepared_dir, "test"), 4)
    assert metrics["test_bpc"] == pytest.approx(metrics["test_loss"] / math.log(2), abs=2e-4)
    assert metrics["test_loss_stateful"] == round(model.stateful_loss(load_split(prepared_dir, "test")), 4)
    assert metrics["dynamic"]["segment"] == 20 and metrics["dynamic"]["rule"] == "rms"
    assert metrics["dynamic"]["lr"] in (0.0, 0.001) and metrics["dynamic"]["decay"] == 0.01
    assert [row["lr"] for row in metrics["search"]["tried"]] == [0.0, 0.001]
    assert metrics["seconds"] >= metrics["search_seconds"] >= 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert torch.get_num_threads() == threads


def test_lr_0_reads_the_test_text_as_the_stateful_loss(prepared_dir, model):
    metrics = evaluate(model, prepared_dir, settings(rule="sgd", lrs=[0.0]))
    assert metrics["test_loss_dynamic"] == pytest.approx(metrics["test_loss_stateful"], abs=2e-4)
    assert metrics["search"] is None and metrics["dynamic"] == {"rule": "sgd", "lr": 0.0, "segment": 20}


def test_a_test_split_shorter_than_a_block_is_refused(tmp_path):
    data = prepare_text(make_text(40), tmp_path / "prepared", val_fraction=0.3, test_fraction=0.02)
    model = LitCharRNN(len(load_vocab(data)), embed_dim=4, hidden_size=8)
    with pytest.raises(CharlmError, match="the test split has .* characters; scoring needs at least 41"):
        evaluate(model, data, settings())


def test_a_finite_loss_far_above_reading_without_learning_is_divergence(prepared_dir, model):
    """sgd at lr 100 learns the model into nonsense without ever reaching nan: a loss far above the
    stateful one is refused too, not written as a result."""
    with pytest.raises(CharlmError, match=r"^dynamic evaluation diverged on the test text \(loss [0-9.e+]+\)"
                                          " with sgd lr 100: lower evaluate.lrs"):
        evaluate(model, prepared_dir, settings(rule="sgd", lrs=[100.0]))


def test_a_search_shorter_than_two_segments_is_refused():
    with pytest.raises(CharlmError, match="evaluate.search_chars=1 is less than two segments of"
                                          " evaluate.segment=20"):
        settings(search_chars=1)
