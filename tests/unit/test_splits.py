"""Prepared data as training reads it: the vocabulary, memory-mapped splits and CharDataset windows."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from charlm.errors import CharlmError
from charlm.text.splits import CharDataset, decode, load_split, load_vocab


def test_splits_are_memory_mapped_copy_on_write(prepared_dir):
    """The split stays on disk (mapped: Linux lists it in /proc/self/maps), torch gets a writable array
    without a warning, and writing to it never reaches the file."""
    path = prepared_dir / "train.npy"
    before = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        codes = load_split(prepared_dir, "train")
    assert str(path) in Path("/proc/self/maps").read_text()
    codes[:10] = 0
    del codes
    assert (prepared_dir / "train.npy").read_bytes() == before


def test_dataset_windows_are_text_slices(prepared_dir, tiny_text):
    idx2char = load_vocab(prepared_dir)
    ds = CharDataset(prepared_dir, maxlen=16, step=3)
    train_text = tiny_text[: len(ds.data)]
    assert len(ds) == (len(train_text) - 16 - 1) // 3 + 1
    for i in (0, 1, 7, len(ds) - 1):
        x, y = ds[i]
        assert x.dtype == torch.long and x.shape == (16,) and y.dtype == torch.long and y.shape == ()
        assert decode(x, idx2char) == train_text[3 * i : 3 * i + 16]
        assert idx2char[int(y)] == train_text[3 * i + 16]
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_windows_never_straddle_the_split(prepared_dir, tiny_text):
    train = CharDataset(prepared_dir, maxlen=16, step=3, split="train")
    val = CharDataset(prepared_dir, maxlen=16, step=1, split="val")
    n_train = len(train.data)
    last_start = (len(train) - 1) * 3
    assert last_start + 16 <= n_train - 1  # the last train target is still a train character
    assert n_train - (last_start + 16) <= 3  # and no full step of train text is wasted
    idx2char = load_vocab(prepared_dir)
    x, y = val[0]
    assert decode(x, idx2char) == tiny_text[n_train : n_train + 16]  # val starts where train ends
    assert len(val) == len(val.data) - 16


def test_every_objective_targets_are_the_window_shifted_by_one(prepared_dir, tiny_text):
    idx2char = load_vocab(prepared_dir)
    ds = CharDataset(prepared_dir, maxlen=16, step=16, objective="every")
    x, y = ds[2]
    assert decode(x, idx2char) == tiny_text[32:48] and decode(y, idx2char) == tiny_text[33:49]
    xb, yb = ds[[2, 0]]
    assert yb.shape == (2, 16) and torch.equal(yb[0], y) and torch.equal(xb[0], x)
    one = CharDataset(prepared_dir, maxlen=1, step=1, objective="every")
    assert one[0][1].shape == (1,) and one[[0, 1]][1].shape == (2, 1)


def test_back_to_back_val_windows_predict_each_character_once(prepared_dir):
    val = CharDataset(prepared_dir, maxlen=16, step=16, split="val", objective="every")
    _, y = val[list(range(len(val)))]
    # every character after the first, in order
    assert torch.equal(y.flatten(), val.data[1 : 1 + y.numel()].long())
    assert len(val.data) - 1 - y.numel() < 16  # at most a partial window is left out


def test_every_form_of_an_index_gives_the_same_window(prepared_dir):
    ds = CharDataset(prepared_dir, maxlen=16, step=3)
    n = len(ds)
    for i in (0, 5, n - 1, -1, -n):
        x, y = ds[i]
        for other in (np.int64(i), torch.tensor(i)):
            assert torch.equal(ds[other][0], x) and torch.equal(ds[other][1], y)
        xb, yb = ds[[i]]
        assert torch.equal(xb[0], x) and yb[0] == y
        xb, yb = ds[torch.tensor([i, 0])]
        assert torch.equal(xb[0], x)
    assert torch.equal(ds[-1][0], ds[n - 1][0])


@pytest.mark.parametrize("index", [lambda n: n, lambda n: -n - 1, lambda n: [0, n], lambda n: [-n - 1],
                                   lambda n: torch.tensor(n)],
                         ids=["n", "-n-1", "[0,n]", "[-n-1]", "tensor(n)"])
def test_out_of_range_indices_raise_index_error_naming_the_range(prepared_dir, index):
    ds = CharDataset(prepared_dir, maxlen=16, step=3)
    n = len(ds)
    with pytest.raises(IndexError, match=rf"out of range: {n} windows, indices -{n}..{n - 1}"):
        ds[index(n)]


@pytest.mark.parametrize("content, message", [
    (b"garbage", "is not a vocabulary (JSONDecodeError)"),
    (b'{"foo": 1}', "is not a vocabulary (KeyError)"),
    (b"[1, 2, 3]", "is not a vocabulary (TypeError)"),
    (b"\xff\xfe\xfa", "is not a vocabulary (UnicodeDecodeError)"),
    (b'{"idx2char": "abc"}', "'idx2char' is not a list of distinct characters"),
    (b'{"idx2char": ["a", "a"]}', "'idx2char' is not a list of distinct characters"),
], ids=["garbage", "no-key", "list", "not-utf8", "string", "repeated"])
def test_a_corrupt_vocabulary_is_one_clear_error(prepared_dir, content, message):
    (prepared_dir / "vocab.json").write_bytes(content)
    with pytest.raises(CharlmError, match=rf"vocab.json.*{re.escape(message)}.*rerun the prepare stage"):
        load_vocab(prepared_dir)


@pytest.mark.parametrize("content", [b"", b"garbage", None], ids=["empty", "garbage", "2-d"])
def test_a_corrupt_split_is_one_clear_error(prepared_dir, content):
    path = prepared_dir / "train.npy"
    if content is None:
        np.save(path, np.zeros((2, 2), dtype=np.uint8))
    else:
        path.write_bytes(content)
    with pytest.raises(CharlmError, match=r"train.npy (is not a NumPy array file|holds no 1-d array)"):
        CharDataset(prepared_dir)


def test_batch_indexing_matches_single_items(prepared_dir):
    ds = CharDataset(prepared_dir, maxlen=16, step=3)
    idx = [5, 0, len(ds) - 1, 5]
    xb, yb = ds[idx]
    assert xb.shape == (4, 16) and yb.shape == (4,)
    for row, i in enumerate(idx):
        x, y = ds[i]
        assert torch.equal(xb[row], x) and yb[row] == y


def test_dataset_memory_is_one_copy_of_the_corpus(prepared_dir):
    ds = CharDataset(prepared_dir, maxlen=40, step=1)
    assert ds.data.element_size() == 1
    assert ds.data.untyped_storage().nbytes() == len(ds.data)  # windows are never materialised


def test_a_large_vocabulary_scores_fewer_blocks_at_once(tmp_path):
    """65,536 characters: 1,024 blocks of 40 would be 2.7 billion logits (21 GB seen in training)."""
    from charlm.text.splits import LOGITS_AT_ONCE, SCORE_BLOCK, blocks_at_once

    for size, blocks in ((65, 1024), (65_536, 6)):
        vocab = [chr(0x4E00 + i) for i in range(size)]
        (tmp_path / "vocab.json").write_text(json.dumps({"idx2char": vocab}), encoding="utf-8")
        assert blocks_at_once(tmp_path) == blocks
        assert blocks * SCORE_BLOCK * size <= LOGITS_AT_ONCE or blocks == 1
