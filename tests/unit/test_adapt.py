"""Adapting a model to a text: it learns as it reads, within its time, and the checkpoint stays as it was."""

from __future__ import annotations

import hashlib

import pytest
import torch

from charlm import LitCharRNN
from charlm.errors import CharlmError
from charlm.evaluate.adapt import SEGMENT, adapt, text_codes
from charlm.model.checkpoint import load_checkpoint, save

VOCAB = list("\n abcdefgh")
TEXT = "abc defg hab cde fgh\n" * 60  # repetitive: a model that reads it learns it


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    return save(LitCharRNN(len(VOCAB), embed_dim=8, hidden_size=16, vocab=VOCAB), tmp_path / "m.ckpt")


def test_the_adapted_model_knows_the_text_better_and_the_checkpoint_is_unchanged(checkpoint):
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    model = load_checkpoint(checkpoint)
    weights = {k: v.clone() for k, v in model.weights.items()}
    codes, unknown = text_codes(TEXT, VOCAB, "text")
    adapted = adapt(model, codes, seconds=600)
    assert adapted.chars == len(TEXT) - 1 and unknown == ""
    assert adapted.after < adapted.online < adapted.before
    assert adapted.model.vocab == VOCAB and adapted.model.hparams is model.hparams
    assert any(not torch.equal(adapted.model.weights[k], w) for k, w in weights.items())
    assert all(torch.equal(model.weights[k], w) for k, w in weights.items())  # the loaded model too
    assert hashlib.sha256(checkpoint.read_bytes()).hexdigest() == digest


def test_the_time_cap_ends_the_reading(checkpoint):
    codes, _ = text_codes(TEXT, VOCAB, "text")
    assert adapt(load_checkpoint(checkpoint), codes, seconds=0).chars == SEGMENT  # one segment, then time


def test_line_ends_become_line_breaks_and_unknown_characters_are_left_out():
    codes, unknown = text_codes("ab\r\ncd§é\rh", VOCAB, "text")
    assert "".join(VOCAB[i] for i in codes) == "ab\ncd\nh" and unknown == "§é"
    with pytest.raises(CharlmError, match="^notes.txt has 1 characters the model knows: adapting needs at"):
        text_codes("a§§", VOCAB, "notes.txt")
