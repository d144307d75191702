"""What a model does with a text: the distribution each character was drawn from."""

from __future__ import annotations

import numpy as np
import torch

from charlm import LitCharRNN, tempered_softmax
from charlm.app.probe import drawn_from, probabilities

VOCAB = list(' "abcdefghij')


def test_probabilities_are_the_tempered_softmax_of_the_model_logits():
    torch.manual_seed(0)
    model = LitCharRNN(len(VOCAB), embed_dim=5, hidden_size=8, vocab=VOCAB).eval()
    prompt, text = [1, 2, 3], [4, 5, 0, 6]
    with torch.no_grad():
        logits = model.every_logits(torch.tensor([prompt + text]))[0, len(prompt) - 1 : -1]
    for t in (0.0, 0.5, 1.0, 2.0):
        expected = tempered_softmax(logits.double(), t).numpy()
        assert np.allclose(probabilities(model, prompt, text, t), expected, atol=1e-5), t


def test_top_k_and_top_p_keep_the_candidates_the_sampler_keeps_renormalised():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]], dtype=np.float32))
    assert np.allclose(drawn_from(logits, 1.0, top_k=2), [[0.625, 0.375, 0, 0]])
    assert np.allclose(drawn_from(logits, 1.0, top_p=0.8), [[0.625, 0.375, 0, 0]])
    assert np.allclose(drawn_from(logits, 0.0, top_k=3), [[1, 0, 0, 0]])  # greedy
    assert np.allclose(drawn_from(logits, 1.0), np.exp(logits))
