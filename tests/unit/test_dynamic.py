"""Dynamic evaluation: every segment scored before the model learns from it, the weights restored."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from charlm.evaluate.dynamic import Rule, dynamic_loss, dynamic_scores, gradient_stats, lstm_reader, segments
from charlm.model.lstm import LitCharRNN

SEGMENT = 10


@pytest.fixture
def model() -> LitCharRNN:
    torch.manual_seed(0)
    return LitCharRNN(6, embed_dim=4, hidden_size=8, num_layers=2, dropout=0.3)


@pytest.fixture
def codes() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randint(0, 6, (203,))


def weights(model: LitCharRNN) -> list[torch.Tensor]:
    return [w.detach().clone() for w in model.parameters()]


def reference_sgd(model: LitCharRNN, codes: torch.Tensor, lr: float) -> list[float]:
    """The rule written out with torch's own SGD on a copy: score, then step; the state carried."""
    model = copy.deepcopy(model).eval()
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    scores, state = [], None
    for x, y in segments(codes, SEGMENT):
        hidden, state = model.lstm(model.embed(x[None]), state)
        loss = F.cross_entropy(model.head(hidden[0]), y, reduction="sum")
        scores.append(loss.item())
        optimiser.zero_grad()
        (loss / len(y)).backward()
        optimiser.step()
        state = tuple(s.detach() for s in state)
    return scores


def test_segments_cover_every_target_once(codes):
    pairs = list(segments(codes, SEGMENT))
    assert torch.equal(torch.cat([y for _, y in pairs]), codes[1:].long())
    assert all(torch.equal(x[1:], y[:-1]) for x, y in pairs)


@pytest.mark.parametrize("rule", [Rule("sgd", 0.0), Rule("rms", 0.0, 0.5)])
def test_lr_0_is_the_stateful_loss(model, codes, rule):
    stats = gradient_stats(lstm_reader(model), codes, SEGMENT) if rule.name == "rms" else None
    loss = dynamic_loss(lstm_reader(model), codes, rule, SEGMENT, stats)
    assert loss == pytest.approx(model.stateful_loss(codes), rel=1e-5)


def test_the_scores_are_those_of_score_then_step(model, codes):
    ours = dynamic_scores(lstm_reader(model), codes, Rule("sgd", 0.5), SEGMENT)
    assert ours == pytest.approx(reference_sgd(model, codes, 0.5), rel=1e-4)


def test_a_segment_never_scores_its_own_update(model, codes):
    """The first segment scores as the trained model does, however large the step it then takes; a
    segment's score depends on the text up to its end only: what follows (and teaches the model later)
    leaves it unchanged."""
    static = dynamic_scores(lstm_reader(model), codes, Rule("sgd", 0.0), SEGMENT)
    learnt = dynamic_scores(lstm_reader(model), codes, Rule("sgd", 5.0), SEGMENT)
    assert learnt[0] == pytest.approx(static[0], rel=1e-6) and learnt[1:] != pytest.approx(static[1:])
    k = 7
    changed = codes.clone()
    changed[(k + 1) * SEGMENT + 1 :] = (changed[(k + 1) * SEGMENT + 1 :] + 1) % 6
    again = dynamic_scores(lstm_reader(model), changed, Rule("sgd", 5.0), SEGMENT)
    assert again[: k + 1] == pytest.approx(learnt[: k + 1], rel=1e-6)
    assert again[k + 1 :] != pytest.approx(learnt[k + 1 :])


@pytest.mark.parametrize("rule", [Rule("sgd", 0.5), Rule("rms", 0.01, 0.1)])
def test_the_weights_return_to_the_trained_ones(model, codes, rule):
    before = weights(model)
    stats = gradient_stats(lstm_reader(model), codes, SEGMENT)
    assert all(torch.equal(a, b) for a, b in zip(before, weights(model), strict=True))
    dynamic_loss(lstm_reader(model), codes, rule, SEGMENT, stats)
    assert all(torch.equal(a, b) for a, b in zip(before, weights(model), strict=True))
    assert model.training  # and its mode


def test_the_weights_return_after_a_failure(model, codes):
    before = weights(model)
    reader = lstm_reader(model)
    step, calls = reader.step, []

    def failing(x, y, state):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("stopped")
        return step(x, y, state)

    reader.step = failing
    with pytest.raises(RuntimeError):
        dynamic_loss(reader, codes, Rule("sgd", 1.0), SEGMENT)
    assert all(torch.equal(a, b) for a, b in zip(before, weights(model), strict=True))


@pytest.mark.parametrize("rule", [Rule("sgd", 0.5), Rule("rms", 0.003, 0.001)])
def test_learning_as_it_reads_helps_on_a_repetitive_text(model, rule):
    codes = torch.tensor([0, 1, 2, 3, 4, 5] * 60)
    stats = gradient_stats(lstm_reader(model), codes, SEGMENT)
    assert dynamic_loss(lstm_reader(model), codes, rule, SEGMENT, stats) < model.stateful_loss(codes) - 0.01


def test_rms_stays_finite_where_the_statistics_saw_no_gradient(model):
    """Characters 4 and 5 never appear where the statistics are gathered: their embedding rows have no
    gradient there, and the floor keeps their first steps bounded."""
    seen = torch.tensor([0, 1, 2, 3] * 50)
    stats = gradient_stats(lstm_reader(model), seen, SEGMENT)
    assert float(stats[0][4:].abs().sum()) == 0.0  # embed.weight's rows of 4 and 5
    new = torch.tensor([0, 4, 5, 1] * 50)
    loss = dynamic_loss(lstm_reader(model), new, Rule("rms", 0.01, 0.01), SEGMENT, stats)
    assert loss < 1.5 * model.stateful_loss(new)


def test_rms_needs_statistics(model, codes):
    with pytest.raises(ValueError, match="statistics"):
        dynamic_loss(lstm_reader(model), codes, Rule("rms", 0.1), SEGMENT)


def test_the_statistics_stop_after_the_segment_that_passes_their_time(model, codes):
    """`until` in the past: the first segment alone, as a text of that one segment gives."""
    reader = lstm_reader(model)
    first = gradient_stats(reader, codes[: SEGMENT + 1], SEGMENT)
    stopped = gradient_stats(reader, codes, SEGMENT, until=0.0)
    assert all(torch.equal(a, b) for a, b in zip(first, stopped, strict=True))
