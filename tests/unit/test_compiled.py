"""The compiled generation step: it computes what LitCharRNN computes, and draws characters as
tempered_softmax, top-k and top-p say."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from charlm import LitCharRNN, tempered_softmax
from charlm.model import compiled
from charlm.model.compiled import Stepper, candidates
from charlm.sample.generate import generate


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_step_function_matches_the_model(layers):
    """Generation's compiled step over the raw weights computes what LitCharRNN computes, at every
    position."""
    torch.manual_seed(layers)
    model = LitCharRNN(23, embed_dim=7, hidden_size=19, num_layers=layers, dropout=0.3).eval()
    codes = torch.randint(0, 23, (3, 30))
    with torch.no_grad():
        expected = model.every_logits(codes)
    stepper = Stepper(model, batch=3)
    for t in range(30):
        assert np.allclose(stepper.read(codes[:, t : t + 1].numpy()), expected[:, t].numpy(), atol=1e-5)


def constant_model(bias: list[float]) -> LitCharRNN:
    """All weights zero but the output bias: the logits are `bias` whatever the input."""
    model = LitCharRNN(len(bias), embed_dim=2, hidden_size=3).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.head.out.bias.copy_(torch.tensor(bias))
    return model


BIAS = [2.0, 1.0, 0.0, -1.0]


def frequencies(codes: torch.Tensor, n: int) -> torch.Tensor:
    return torch.bincount(codes, minlength=n) / len(codes)


def test_generated_characters_follow_the_tempered_distribution():
    model = constant_model(BIAS)
    for t in (0.5, 1.0, 2.0):
        codes = generate(model, torch.tensor([0]), [t], 20000, seed=3)
        assert torch.allclose(frequencies(codes[0], 4), tempered_softmax(model.head.out.bias, t), atol=0.015)


def test_top_k_and_top_p_draw_from_the_renormalised_candidates():
    model = constant_model(BIAS)
    p = tempered_softmax(torch.tensor(BIAS), 1.0)
    top2 = generate(model, [0], [1.0], 20000, seed=4, top_k=2)[0]
    assert torch.allclose(frequencies(top2, 4), torch.cat([p[:2] / p[:2].sum(), torch.zeros(2)]), atol=0.015)
    nucleus = generate(model, [0], [1.0], 20000, seed=4, top_p=0.9)[0]  # 0.64 + 0.24 < 0.9 <= + 0.09
    assert torch.allclose(frequencies(nucleus, 4), torch.cat([p[:3] / p[:3].sum(), torch.zeros(1)]),
                          atol=0.015)


def test_top_p_keeps_the_fewest_likeliest_that_reach_p():
    logits = np.log(np.array([0.1, 0.5, 0.15, 0.25]))
    assert candidates(logits, 1.0, top_p=0.5).tolist() == [1]  # 0.5 reaches 0.5
    assert candidates(logits, 1.0, top_p=0.51).tolist() == [1, 3]
    assert candidates(logits, 1.0, top_p=0.9).tolist() == [1, 3, 2]  # 0.9 reaches 0.9
    assert candidates(logits, 1.0, top_p=0.95).tolist() == [1, 3, 2, 0]
    assert candidates(logits, 1.0, top_k=2, top_p=0.95).tolist() == [1, 3]  # top-k first
    assert candidates(logits, 0.01, top_p=0.99).tolist() == [1]  # at low T the likeliest holds nearly all
    assert candidates(logits, 1.0).tolist() == [1, 3, 2, 0]


def test_top_k_1_is_greedy_and_keeping_everything_changes_nothing():
    torch.manual_seed(0)
    model = LitCharRNN(12, embed_dim=8, hidden_size=16).eval()
    prompt = torch.tensor([1, 2, 3])
    greedy = generate(model, prompt, [0.0, 1e-300], 200, seed=1)
    assert torch.equal(greedy[0], greedy[1])  # T too small to invert is greedy too
    assert torch.equal(generate(model, prompt, [0.8, 2.0], 200, seed=5, top_k=1), greedy)
    plain = generate(model, prompt, [0.8], 200, seed=5)
    assert torch.equal(generate(model, prompt, [0.8], 200, seed=5, top_k=12, top_p=1.0), plain)
    with torch.no_grad():  # greedy is the argmax of the model's own logits, step after step
        text = prompt.clone()
        for _ in range(20):
            text = torch.cat([text, model(text[None]).argmax(-1)])
    assert torch.equal(greedy[0, :20], text[3:])


def nucleus(logits: np.ndarray, temperature: float, top_k: int, top_p: float) -> list[int]:
    """The candidates by their definition: sort, keep top_k, keep the fewest reaching top_p."""
    order = np.argsort(-logits, kind="stable")[: top_k or len(logits)]
    p = np.exp((logits[order] - logits.max()) / temperature)
    reached = np.cumsum(p) >= top_p * p.sum() - 1e-9
    return order[: int(np.argmax(reached)) + 1].tolist()


@pytest.mark.parametrize("seed", range(20))
def test_candidates_agree_with_their_definition(seed):
    """Also past the few likeliest the kernel picks one by one (a flat distribution of 60 characters)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, [0.1, 3.0][seed % 2], 60).astype(np.float32)
    for top_k, top_p, t in ((0, 0.9, 1.0), (0, 0.99, 2.0), (25, 0.95, 1.0), (5, 1.0, 0.5), (0, 0.3, 0.7)):
        expected = nucleus(logits.astype(np.float64), t, top_k, top_p)
        assert candidates(logits, t, top_k, top_p).tolist() == expected


def test_the_compiled_step_lets_a_server_answer_meanwhile():
    """A long text read by the compiled step must not hold the interpreter lock a server's other
    threads need (charlm explore answers its page while one request runs)."""
    kernels = [f for f in vars(compiled).values() if hasattr(f, "targetoptions")]
    assert kernels and all(f.targetoptions.get("nogil") for f in kernels)
