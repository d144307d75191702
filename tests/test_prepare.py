"""Vocabulary, encoding, the contiguous split and CharDataset windows."""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_text, run_stage, write_params

from charlm.data import (
    CharDataset,
    check_split,
    code_dtype,
    count_chars,
    decode,
    encode,
    load_split,
    load_vocab,
    prepare,
    save_splits,
)
from charlm.errors import CharlmError


def test_encode_decode_round_trip_with_non_ascii():
    text = "Hwæt! We Gardena — ἐν ἀρχῇ ἦν ὁ λόγος\n"
    idx2char = sorted(set(text))
    codes = encode(text, idx2char)
    assert codes.dtype == np.uint8
    assert decode(codes, idx2char) == text
    assert [idx2char[i] for i in codes] == list(text)


def test_large_vocabulary_uses_a_wider_type():
    text = "".join(map(chr, range(0x4E00, 0x4E00 + 300)))
    idx2char = sorted(set(text))
    codes = encode(text, idx2char)
    assert code_dtype(300) == codes.dtype == np.int16
    assert decode(codes, idx2char) == text


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("text", [
    make_text(40) + "Hwæt! \U0001F600 ἐν ἀρχῇ\n",  # 1-byte codes; an astral character
    make_text(20) + "".join(map(chr, range(0x4E00, 0x4E00 + 300))) + "\n",  # over 256 symbols: 2-byte codes
], ids=["uint8", "int16"])
def test_prepare_streams_chunks_into_the_same_npy_files(tmp_path, monkeypatch, text):
    """7 characters at a time: the vocabulary, the counts and the .npy files are what the whole text gives."""
    monkeypatch.setattr("charlm.data.ENCODE_CHUNK", 7)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    idx2char, counts = count_chars(corpus)
    assert idx2char == sorted(set(text)) and counts.tolist() == [text.count(c) for c in idx2char]
    n_train, n_val = check_split(int(counts.sum()), 0.1)
    save_splits(corpus, tmp_path, idx2char, n_train, n_val)
    codes = encode(text, idx2char)
    assert codes.dtype == code_dtype(len(idx2char))
    assert (tmp_path / "train.npy").read_bytes() == npy_bytes(codes[:n_train])
    assert (tmp_path / "val.npy").read_bytes() == npy_bytes(codes[n_train:])
    assert n_val == round(0.1 * len(text))


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


def test_split_is_contiguous_and_holds_out_the_end(tiny_text):
    idx2char, train, val = prepare(tiny_text, 0.1)
    assert decode(train, idx2char) + decode(val, idx2char) == tiny_text
    assert len(val) == round(0.1 * len(tiny_text))
    assert idx2char == sorted(set(tiny_text))


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
    assert len(val) == len(tiny_text) - n_train - 16


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
    assert torch.equal(y.flatten(), val.data[1 : 1 + y.numel()].long())  # every character after the first, in order
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
                                   lambda n: torch.tensor(n)], ids=["n", "-n-1", "[0,n]", "[-n-1]", "tensor(n)"])
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


def test_short_corpus_is_refused_with_lengths():
    """Two characters in each split (one input, one target); window lengths are the train stage's."""
    with pytest.raises(CharlmError, match=r"corpus has 10 characters; with val_fraction=0.1 it needs at least 15 "):
        prepare("x" * 10, 0.1)
    prepare("x" * 15, 0.1)
    with pytest.raises(CharlmError, match="needs at least 15"):
        prepare("x" * 14, 0.1)
    with pytest.raises(CharlmError, match="has 0 characters"):
        prepare("", 0.5)


def test_stage_writes_artifacts_and_metrics(tmp_path, tiny_text):
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/corpus.txt").write_text(tiny_text, encoding="utf-8")
    write_params(tmp_path, {})
    result = run_stage("prepare", tmp_path)
    assert result.returncode == 0, result.stderr
    assert tiny_text[:500] in result.stdout
    assert (tmp_path / "data/prepared/preview.txt").read_text(encoding="utf-8") == tiny_text[:500]
    vocab = json.loads((tmp_path / "data/prepared/vocab.json").read_text())
    assert vocab["idx2char"] == sorted(set(tiny_text))
    assert all(vocab["idx2char"][i] == c for c, i in vocab["char2idx"].items())
    stats = json.loads((tmp_path / "metrics/prepare.json").read_text())
    assert stats["characters"] == len(tiny_text) and stats["vocab_size"] == len(set(tiny_text))
    assert (tmp_path / "plots/char_frequency.png").read_bytes()[:4] == b"\x89PNG"


def test_stage_refuses_a_corpus_that_is_not_utf8(tmp_path):
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/corpus.txt").write_bytes(b"Hw\xe6t! " * 100)
    write_params(tmp_path, {})
    result = run_stage("prepare", tmp_path)
    assert result.returncode == 1 and result.stderr.splitlines() == [
        "error: data/raw/corpus.txt is not UTF-8 text (invalid continuation byte): rerun the download stage"
        " (dvc repro -f download)"]
    assert not (tmp_path / "data/prepared").exists()


def test_stage_without_corpus_says_what_to_run(tmp_path):
    write_params(tmp_path, {})
    result = run_stage("prepare", tmp_path)
    assert result.returncode == 1 and "run the download stage first" in result.stderr
