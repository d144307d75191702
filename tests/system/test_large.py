"""Vocabularies over 256 symbols: 2-byte character codes from prepare through training to the samples."""

from __future__ import annotations

import ast
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from bench.project import commit, copy_project
from charlm.text.splits import decode
from tests.helpers.config import TINY
from tests.helpers.stages import STAGES, repro
from tests.helpers.text import make_text

IDEOGRAPHS = [chr(0x4E00 + i) for i in range(300)]


def mixed_text(seed: int = 7) -> str:
    """Play-like lines, every third one 30 CJK ideographs drawn from 300: some 340 distinct characters."""
    rng = random.Random(seed)
    lines = make_text(200, seed=seed).splitlines()
    return "\n".join("".join(rng.choices(IDEOGRAPHS, k=30)) if i % 3 == 0 else line
                     for i, line in enumerate(lines)) + "\n"


def generated(path: Path) -> str:
    """What the model wrote in a data/samples file, without the prompt each text continues."""
    head, body = path.read_text(encoding="utf-8").split("\n\n", 1)
    prompt = ast.literal_eval(head.split(", prompt ", 1)[1])
    return "".join(s.split("\n", 1)[1].removeprefix(prompt) for s in body.split("=== sample ")[1:])


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = copy_project(tmp_path_factory.mktemp("large-vocab"),
                        {"corpus.source": "data/books/corpus.txt", **TINY})
    (path / "data/books/corpus.txt").write_text(mixed_text(), encoding="utf-8")
    commit(path)
    assert repro(path) == set(STAGES)
    return path


def test_a_vocabulary_over_256_characters_goes_through_the_pipeline(repo):
    text = mixed_text()
    stats = json.loads((repo / "metrics/prepare.json").read_text())
    assert stats["vocab_size"] == len(set(text)) > 256
    vocab = json.loads((repo / "data/prepared/vocab.json").read_text(encoding="utf-8"))["idx2char"]
    splits = [np.load(repo / f"data/prepared/{split}.npy") for split in ("train", "val", "test")]
    assert {codes.dtype for codes in splits} == {np.dtype(np.int16)}
    assert "".join(decode(codes, vocab) for codes in splits) == text

    metrics = json.loads((repo / "metrics/train.json").read_text())
    assert math.isfinite(metrics["val_loss"])
    samples = "".join(generated(repo / f"data/samples/T{t}.txt") for t in (0.2, 1.0, 2.0))
    assert len(samples) >= 3 * 3 * 120  # sample.count texts of sample.length characters, per temperature
    assert set(samples) & set(vocab[256:])  # the model writes characters whose codes need the second byte
