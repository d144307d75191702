"""`python -m bench warmstart`: a head start's first validation, its new characters started unlikely
against PyTorch's rows."""

from __future__ import annotations

import torch

from bench.quality import warm_start
from charlm import LitCharRNN
from charlm.model.checkpoint import save
from tests.helpers.text import make_text, prepare_text


def test_new_characters_started_unlikely_take_about_their_share(tmp_path):
    """A model that never saw "§" and "¶", each one character in 400 of the new text: started as charlm
    starts them they take about their share of the probability; with PyTorch's rows, far more."""
    text = make_text(300)
    rare = "".join(c + ("§" if i % 400 == 0 else "¶" if i % 400 == 200 else "") for i, c in enumerate(text))
    old_vocab = sorted(set(text))
    torch.manual_seed(0)
    checkpoint = save(LitCharRNN(len(old_vocab), embed_dim=8, hidden_size=16, vocab=old_vocab),
                      tmp_path / "old.ckpt")
    data = prepare_text(rare, tmp_path / "prepared")
    result = warm_start(checkpoint, data, seed=1)
    assert result["new_characters"] == 2
    unlikely, pytorch = result["started_unlikely"], result["pytorch_rows"]
    assert unlikely["new_characters_share"] < 0.01 < pytorch["new_characters_share"]
    assert unlikely["val_loss"] < pytorch["val_loss"]
