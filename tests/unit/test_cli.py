"""`charlm generate`: text on demand from a checkpoint, without touching the pipeline's outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.project import ROOT
from charlm.app.cli import in_order
from charlm.model.checkpoint import save as save_checkpoint
from charlm.model.lstm import LitCharRNN

CHARLM = Path(sys.executable).parent / "charlm"  # the console script pip installed beside this interpreter
VOCAB = list("\n :;,.!?'abcdefghijklmnopqrstuvwxyzAEGHIKLNQU")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = LitCharRNN(len(VOCAB), embed_dim=8, hidden_size=16, vocab=VOCAB)
    return save_checkpoint(model, tmp_path_factory.mktemp("gen") / "best.ckpt")


def generate(*args: str, cwd: Path = ROOT, module: bool = False,
             **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "charlm"] if module else [str(CHARLM)]
    return subprocess.run([*command, "generate", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_texts_generated_together_are_shown_one_after_the_other():
    pieces = [(0, "a"), (1, "x"), (0, "b"), (1, "y"), (2, "p"), (3, "q"), (2, "r"), (3, "s")]
    assert list(in_order(pieces, 2)) == [(0, "a"), (0, "b"), (1, "x"), (1, "y"), (2, "p"), (2, "r"), (3, "q"),
                                         (3, "s")]


def test_help_explains_every_option():
    text = generate("--help").stdout
    for option in ("--prompt", "--temperature", "--top-k", "--top-p", "--length", "--count", "--seed",
                   "--checkpoint", "--skip-unknown", "0 = greedy"):
        assert option in text
    assert "models/best.ckpt" in text
