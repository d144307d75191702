"""tempered_softmax, the compiled step and generation, prompts, and the word metrics of the sample stage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from charlm import LitCharRNN, tempered_softmax
from charlm.data import decode, load_text, text_chunks
from charlm.errors import CharlmError
from charlm.generate import continue_text, generate, stream
from charlm.model_step import Stepper
from charlm.prompt import encode_prompt
from charlm.words import known_words, word_metrics, words

LOGITS = torch.tensor([2.0, 1.0, 0.5, -1.0, 0.0])


def entropy(p: torch.Tensor) -> float:
    return float(-(p * p.clamp_min(1e-30).log()).sum())


def test_sums_to_one_and_t1_is_softmax():
    for t in (0.1, 0.5, 1.0, 3.0):
        assert tempered_softmax(LOGITS, t).sum().item() == pytest.approx(1.0)
    assert torch.allclose(tempered_softmax(LOGITS, 1.0), torch.softmax(LOGITS, -1))


def test_small_t_concentrates_and_large_t_flattens():
    ents = [entropy(tempered_softmax(LOGITS, t)) for t in (0.05, 0.5, 1.0, 2.0, 50.0)]
    assert ents == sorted(ents)
    assert tempered_softmax(LOGITS, 1e-6)[0].item() == pytest.approx(1.0)  # tends to argmax
    flat = tempered_softmax(LOGITS, 1e6)
    assert torch.allclose(flat, torch.full((5,), 0.2), atol=1e-5)


def test_stable_for_extreme_logits_and_tiny_t():
    p = tempered_softmax(torch.tensor([1e30, -1e30, 0.0, 1e30]), 1e-30)
    assert torch.isfinite(p).all() and p.tolist() == [0.5, 0.0, 0.0, 0.5]
    assert torch.isfinite(tempered_softmax(torch.tensor([-1e4, -1e4 - 1]), 1e-3)).all()


@pytest.mark.parametrize("t", [0, -1.0])
def test_rejects_non_positive_t(t):
    with pytest.raises(ValueError, match="temperature must be > 0"):
        tempered_softmax(LOGITS, t)


def test_per_row_temperatures():
    p = tempered_softmax(LOGITS.expand(2, -1), torch.tensor([[0.5], [2.0]]))
    assert torch.allclose(p[0], tempered_softmax(LOGITS, 0.5)) and torch.allclose(p[1], tempered_softmax(LOGITS, 2.0))


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_step_function_matches_the_model(layers):
    """Generation's compiled step over the raw weights computes what LitCharRNN computes, at every position."""
    torch.manual_seed(layers)
    model = LitCharRNN(23, embed_dim=7, hidden_size=19, num_layers=layers, dropout=0.3).eval()
    codes = torch.randint(0, 23, (3, 30))
    with torch.no_grad():
        expected = model.every_logits(codes)
    stepper = Stepper(model, batch=3)
    for t in range(30):
        assert np.allclose(stepper.read(codes[:, t : t + 1].numpy()), expected[:, t].numpy(), atol=1e-5)


def test_generated_characters_follow_the_tempered_distribution():
    """All weights zero but the output bias: the logits ignore the input, so sampled frequencies
    must match tempered_softmax of that bias."""
    model = LitCharRNN(4, embed_dim=2, hidden_size=3).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.head.out.bias.copy_(torch.tensor([2.0, 1.0, 0.0, -1.0]))
    for t in (0.5, 1.0, 2.0):
        codes = generate(model, torch.tensor([0]), [t], 20000, seed=3)
        freq = torch.bincount(codes[0], minlength=4) / 20000
        assert torch.allclose(freq, tempered_softmax(model.head.out.bias, t), atol=0.015)


def test_generate_one_row_per_temperature_and_reproducible():
    torch.manual_seed(0)
    model = LitCharRNN(12, embed_dim=8, hidden_size=16).eval()
    prompt = torch.tensor([1, 2, 3])
    a = generate(model, prompt, [0.2, 1.0, 2.0], 50, seed=7)
    assert a.shape == (3, 50) and a.min() >= 0 and a.max() < 12
    assert torch.equal(a, generate(model, prompt, [0.2, 1.0, 2.0], 50, seed=7))
    greedy = generate(model, prompt, [1e-6, 1e-6], 20, seed=1)
    assert torch.equal(greedy[0], greedy[1])  # T -> 0 is argmax: no randomness left


def test_a_text_depends_on_its_row_not_on_the_batch_or_chunks():
    torch.manual_seed(0)
    model = LitCharRNN(12, embed_dim=8, hidden_size=16, vocab=list("abcdefghijkl")).eval()
    together = generate(model, [1, 2, 3], [0.5, 1.0, 2.0], 150, seed=7)  # 150 > one chunk
    alone = np.concatenate(list(stream(model, [1, 2, 3], [1.0], 150, seed=7, first_row=1)), axis=1)
    assert np.array_equal(together[1].numpy(), alone[0])
    pieces: dict[tuple[float, int], str] = {}
    for t, i, piece in continue_text(model, "bcd", [0.5, 1.0], 150, count=2, seed=7):
        pieces[t, i] = pieces.get((t, i), "") + piece
    assert list(pieces) == [(0.5, 0), (0.5, 1), (1.0, 0), (1.0, 1)]
    assert pieces[1.0, 0] == decode(generate(model, [1, 2, 3], [0.5, 0.5, 1.0], 150, seed=7)[2], model.vocab)


@pytest.mark.parametrize("chunk", [3, 7, 64, 10_000])
def test_known_words_of_a_split_read_in_chunks(prepared_dir, monkeypatch, chunk):
    """The sample stage's known words come from the training split a chunk at a time (it may be larger than
    memory), and no word is cut in two where a chunk ends."""
    monkeypatch.setattr("charlm.data.ENCODE_CHUNK", chunk)
    text = load_text(prepared_dir, "train")
    assert "".join(text_chunks(prepared_dir, "train")) == text
    assert known_words(text_chunks(prepared_dir, "train")) == set(words(text))
    assert known_words(["the ki", "ng is d", "ead"]) == {"the", "king", "is", "dead"}


def test_word_metrics():
    known = set(words("the king is dead long live the king"))
    m = word_metrics("The king is gone, long live the qu", known)  # 'qu' is cut off, not counted
    assert m["words"] == 7
    assert m["recognisable_words"] == round(6 / 7, 4)
    assert m["distinct_bigrams"] == 1.0
    assert word_metrics("the the the the ", known)["distinct_bigrams"] == round(1 / 3, 4)
    assert word_metrics("", known) == {"words": 0, "recognisable_words": 0.0, "distinct_bigrams": 0.0}
    pooled = word_metrics(["the king is", "dead zzz "], known)  # no bigram across the two texts
    assert pooled == {"words": 4, "recognisable_words": 0.75, "distinct_bigrams": 1.0}


def test_prompt_with_unknown_characters_is_refused():
    with pytest.raises(CharlmError, match=r"not in the vocabulary: '@Z' \(remove them, or try this\)"):
        encode_prompt("aZb@", ["a", "b"], remedy="remove them, or try this")


def test_prompt_unknown_characters_can_be_skipped(capsys):
    assert encode_prompt("aZb@", ["a", "b"], skip=True).tolist() == [0, 1]
    assert "dropping prompt characters not in the vocabulary: '@Z'" in capsys.readouterr().err
    with pytest.raises(CharlmError, match="no character of the vocabulary left"):
        encode_prompt("ZZ", ["a"], skip=True)
