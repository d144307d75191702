"""load_checkpoint: a trained model read without Lightning, and every file that is not one refused."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from charlm.errors import CharlmError
from charlm.model.checkpoint import load_checkpoint
from charlm.model.checkpoint import save as save_checkpoint
from charlm.model.lstm import LitCharRNN
from charlm.model.network import shapes


def test_a_checkpoint_reads_back_as_the_model(tmp_path):
    model = LitCharRNN(5, embed_dim=4, hidden_size=8, num_layers=3, vocab=list("abcde"))
    loaded = load_checkpoint(save_checkpoint(model, tmp_path / "best.ckpt"), vocab=list("abcde"))
    assert loaded.vocab == list("abcde") and loaded.hparams.num_layers == 3
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    assert shapes(loaded.hparams) == {k: tuple(v.shape) for k, v in model.state_dict().items()}


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("content, message", [
    (b"", "is not a valid charlm checkpoint (EOFError)"),
    (b"not a checkpoint", "is not a valid charlm checkpoint (UnpicklingError)"),
    (pickle.dumps({"state_dict": Evil()}, protocol=2), "is not a valid charlm checkpoint (UnpicklingError)"),
    (None, "not found: train a model first"),
    ("folder", "is a directory, not a checkpoint"),
    ("fifo", "is not a regular file (a device, pipe or socket)"),
], ids=["empty", "garbage", "unsafe-pickle", "missing", "folder", "fifo"])
def test_what_is_not_a_checkpoint_is_refused(tmp_path, content, message):
    path = tmp_path / "best.ckpt"
    if content == "folder":
        path.mkdir()
    elif content == "fifo":
        os.mkfifo(path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(CharlmError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_checkpoint(path)


def test_weights_of_another_shape_are_refused(tmp_path):
    model = LitCharRNN(5, embed_dim=4, hidden_size=8, vocab=list("abcde"))
    raw = {"state_dict": model.state_dict(), "hyper_parameters": {**model.hparams, "hidden_size": 9},
           "vocab": model.vocab}
    torch.save(raw, tmp_path / "best.ckpt")
    with pytest.raises(CharlmError, match=r"is not a valid charlm checkpoint \(ValueError\)"):
        load_checkpoint(tmp_path / "best.ckpt")


def test_another_vocabulary_is_refused(tmp_path):
    path = save_checkpoint(LitCharRNN(3, embed_dim=2, hidden_size=2, vocab=list("abc")),
                           tmp_path / "best.ckpt")
    with pytest.raises(CharlmError, match="was trained on a different vocabulary than the prepared data"):
        load_checkpoint(path, vocab=list("abd"))


@pytest.mark.parametrize("key, value", [("num_layers", 10**12), ("hidden_size", 10**9), ("vocab_size", 0),
                                        ("embed_dim", "64"), ("maxlen", True)])
def test_a_crafted_shape_is_refused_before_anything_is_built(tmp_path, key, value):
    """Security: a checkpoint declaring num_layers = 10**12 is refused at once instead of exhausting
    memory while its expected weights are listed."""
    model = LitCharRNN(5, embed_dim=4, hidden_size=8, vocab=list("abcde"))
    raw = {"state_dict": model.state_dict(), "hyper_parameters": {**model.hparams, key: value},
           "vocab": model.vocab}
    torch.save(raw, tmp_path / "best.ckpt")
    with pytest.raises(CharlmError, match=rf"is not a valid charlm checkpoint \(it declares {key}="):
        load_checkpoint(tmp_path / "best.ckpt")


def test_a_device_is_not_a_missing_file():
    with pytest.raises(CharlmError, match="/dev/null is not a regular file"):
        load_checkpoint("/dev/null")


@pytest.mark.parametrize("vocab", [["ab", "c", "d"], ["", "c", "d"], ["\ud800", "c", "d"], ["c", "c", "d"]],
                         ids=["two-characters", "empty", "lone-surrogate", "duplicate"])
def test_a_vocabulary_of_anything_but_distinct_characters_is_refused(tmp_path, vocab):
    """Generation encodes and prints each entry as one character: anything else is one line here, not a
    traceback later (`ord()` in the sampler, a UnicodeEncodeError when printing)."""
    model = LitCharRNN(3, embed_dim=2, hidden_size=2, vocab=list("cde"))
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams), "vocab": vocab},
               tmp_path / "best.ckpt")
    with pytest.raises(CharlmError, match=r"\(its vocabulary is not a list of distinct single characters\)"):
        load_checkpoint(tmp_path / "best.ckpt")
