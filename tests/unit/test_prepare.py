"""prepare(): the vocabulary, the encoded contiguous splits and the prepare stage's report."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from bench.project import write_params
from charlm.errors import CharlmError
from charlm.text.prepare import code_dtype, prepare
from charlm.text.splits import decode, load_split, load_vocab
from tests.helpers.stages import run_stage
from tests.helpers.text import make_text, prepare_text


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def codes_of(text: str, idx2char: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(idx2char)}
    return np.array([index[c] for c in text], dtype=code_dtype(len(idx2char)))


@pytest.mark.parametrize("text", [
    "Hwæt! We Gardena — ἐν ἀρχῇ ἦν ὁ λόγος \U0001F600\n" * 3,  # 1-byte codes; an astral character
    make_text(20) + "".join(map(chr, range(0x4E00, 0x4E00 + 300))) + "\n",  # over 256 symbols: 2-byte codes
], ids=["uint8", "int16"])
@pytest.mark.parametrize("chunk", [7, 1 << 20])
def test_prepare_writes_what_np_save_would_whatever_the_chunk(tmp_path, monkeypatch, text, chunk):
    """Read `chunk` characters at a time: the vocabulary, the counts and the .npy files are what the whole
    text gives, and decoding the splits gives the text back."""
    monkeypatch.setattr("charlm.text.prepare.CHUNK", chunk)
    (tmp_path / "corpus.txt").write_text(text, encoding="utf-8")
    prepared = prepare(tmp_path / "corpus.txt", tmp_path, 0.05, 0.1)
    idx2char = sorted(set(text))
    assert prepared.idx2char == load_vocab(tmp_path) == idx2char
    assert prepared.counts.tolist() == [text.count(c) for c in idx2char]
    codes = codes_of(text, idx2char)
    assert codes.dtype == (np.uint8 if len(idx2char) <= 256 else np.int16)
    sizes = prepared.sizes
    assert (sizes["val"], sizes["test"]) == (round(0.05 * len(text)), round(0.1 * len(text)))
    start = 0
    for split in ("train", "val", "test"):  # contiguous, in this order, the test text last
        assert (tmp_path / f"{split}.npy").read_bytes() == npy_bytes(codes[start : start + sizes[split]])
        start += sizes[split]
    assert start == len(text)
    assert "".join(decode(load_split(tmp_path, s), idx2char) for s in ("train", "val", "test")) == text


def test_the_test_split_is_the_end_of_the_text(prepared_dir, tiny_text):
    idx2char = load_vocab(prepared_dir)
    train, val, test = (decode(load_split(prepared_dir, s), idx2char) for s in ("train", "val", "test"))
    assert train + val + test == tiny_text and tiny_text.endswith(test)
    assert len(test) == round(0.1 * len(tiny_text)) and len(val) == round(0.1 * len(tiny_text))


def test_short_corpus_is_refused_with_lengths(tmp_path):
    """Two characters in each split (one input, one target); window lengths are the train stage's."""
    with pytest.raises(CharlmError, match=r"corpus has 10 characters; with val_fraction=0.1 and"
                                          r" test_fraction=0.1 it needs at least 15 "):
        prepare_text("x" * 10, tmp_path / "a")
    prepare_text("x" * 15, tmp_path / "b")
    with pytest.raises(CharlmError, match="needs at least 15"):
        prepare_text("x" * 14, tmp_path / "c")
    with pytest.raises(CharlmError, match="has 0 characters"):
        prepare_text("", tmp_path / "d", 0.4)


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


def test_a_starting_model_s_characters_join_the_vocabulary(tmp_path):
    """With train.init_from, prepare keeps every character of the starting model (count 0 where the new
    text lacks it), sorted with the text's own; the text still decodes."""
    (tmp_path / "corpus.txt").write_text("abba cab\n" * 20, encoding="utf-8")
    prepared = prepare(tmp_path / "corpus.txt", tmp_path, 0.1, 0.1, extra=["Z", "a", "é"])
    assert prepared.idx2char == load_vocab(tmp_path) == sorted(set("abc \nZé"))
    counts = dict(zip(prepared.idx2char, prepared.counts.tolist(), strict=True))
    assert counts["Z"] == counts["é"] == 0 and counts["a"] == 60
    text = "".join(decode(load_split(tmp_path, s), prepared.idx2char) for s in ("train", "val", "test"))
    assert text == "abba cab\n" * 20


def test_a_vocabulary_larger_than_a_model_may_have_is_refused_before_anything_is_written(tmp_path):
    """A starting model with 65,536 characters plus the text's own: every later stage would refuse the
    model trained on it, so prepare refuses first, in one line."""
    (tmp_path / "corpus.txt").write_text("abba cab\n" * 20, encoding="utf-8")
    extra = [chr(0x4E00 + i) for i in range(65_536)]
    with pytest.raises(CharlmError, match="^the vocabulary would have 65,541 characters \\(65,536 of them the"
                                          " starting model's\\), more than a model may have \\(65,536\\)"):
        prepare(tmp_path / "corpus.txt", tmp_path / "out", 0.1, 0.1, extra=extra)
