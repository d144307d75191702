"""A trained model scored as it is: the checkpoint loaded and checked, the text in 40-character blocks."""

from __future__ import annotations

import pytest
import torch

from charlm.errors import CharlmError
from charlm.evaluate.score import block_loss, trained_model
from charlm.model.checkpoint import save
from charlm.model.lstm import LitCharRNN
from charlm.text.splits import SCORE_BLOCK, CharDataset, load_vocab


def test_block_loss_is_the_mean_over_back_to_back_blocks(prepared_dir):
    torch.manual_seed(0)
    model = LitCharRNN(len(load_vocab(prepared_dir)), embed_dim=4, hidden_size=8, dropout=0.5)
    blocks = CharDataset(prepared_dir, SCORE_BLOCK, SCORE_BLOCK, split="test", objective="every")
    x, y = blocks[torch.arange(len(blocks))]
    with torch.inference_mode():
        direct = model.eval().loss(x, y).item()
    assert block_loss(model.train(), prepared_dir, "test") == pytest.approx(direct, rel=1e-5)
    assert model.training  # its mode is left as it was


def test_the_checkpoint_comes_back_as_the_model(tmp_path):
    model = LitCharRNN(3, embed_dim=4, hidden_size=8, vocab=list("abc"))
    loaded = trained_model(save(model, tmp_path / "best.ckpt"), list("abc"))
    assert not loaded.training and loaded.vocab == list("abc")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values(),
                                                  strict=True))


def test_a_checkpoint_of_another_vocabulary_is_refused(tmp_path):
    path = save(LitCharRNN(3, embed_dim=4, hidden_size=8, vocab=list("abc")), tmp_path / "best.ckpt")
    with pytest.raises(CharlmError, match="different vocabulary"):
        trained_model(path, list("abd"))
