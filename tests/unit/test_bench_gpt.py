"""bench/gpt.py: the GPT's two test losses are what their docstrings say, on a tiny untrained model."""

import math

import pytest
import torch
import torch.nn.functional as F

from bench.gpt import GPT, block_loss, sliding_loss


@pytest.fixture
def tiny() -> tuple[GPT, torch.Tensor]:
    torch.manual_seed(0)
    model = GPT(vocab=7, block=8, layers=1, heads=2, width=16)
    with torch.no_grad():  # an untrained GPT's predictions hardly depend on the context: make them
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    return model.eval(), torch.randint(0, 7, (53,))


def brute_force(model: GPT, codes: torch.Tensor, block: int) -> float:
    """Character by character: each predicted from (at most) the `block` characters before it."""
    total = 0.0
    with torch.no_grad():
        for n in range(1, len(codes)):
            context = codes[max(0, n - block) : n]
            total += F.cross_entropy(model(context[None])[0, -1], codes[n]).item()
    return total / (len(codes) - 1)


def test_the_sliding_window_loss_is_every_position_with_its_full_block(tiny):
    model, codes = tiny
    assert sliding_loss(model, codes, block=8, batch=5) == pytest.approx(
        brute_force(model, codes, 8), abs=1e-5
    )


def test_the_block_loss_restarts_the_context_every_block(tiny):
    model, codes = tiny
    n = (len(codes) - 1) // 8
    total = 0.0
    with torch.no_grad():
        for b in range(n):
            for i in range(8):
                context = codes[b * 8 : b * 8 + i + 1]
                total += F.cross_entropy(model(context[None])[0, -1], codes[b * 8 + i + 1]).item()
    expected = total / (n * 8)
    assert block_loss(model, codes, 8) == pytest.approx(expected, abs=1e-5)
    # the two definitions differ on this model: context matters to it
    assert not math.isclose(block_loss(model, codes, 8), sliding_loss(model, codes, block=8), abs_tol=1e-3)


def test_dynamic_evaluation_reads_the_gpt_with_its_context(tiny):
    """Without learning, the GPT's reader is the sliding window, whatever the segment's length (each
    character sees the `block` before it); learning changes the scores and the weights come back."""
    from bench.gpt import gpt_reader
    from charlm.evaluate.dynamic import Rule, dynamic_loss

    model, codes = tiny
    reader = gpt_reader(model, block=8)
    for segment in (1, 3, 8, 20):
        assert dynamic_loss(reader, codes, Rule("sgd", 0.0), segment) == pytest.approx(
            sliding_loss(model, codes, 8), abs=1e-5), segment
    weights = [p.clone() for p in model.parameters()]
    static = dynamic_loss(reader, codes, Rule("sgd", 0.0), 4)
    assert dynamic_loss(reader, codes, Rule("sgd", 0.5), 4) != static
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights, strict=True))
