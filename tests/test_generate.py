"""`charlm generate`: text on demand from a trained checkpoint, without touching the pipeline's outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, make_text, tiny

from charlm.data import prepare, save_prepared
from charlm.training import RunDir, fit

CHARLM = Path(sys.executable).parent / "charlm"  # the console script pip installed beside this interpreter


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gen")
    save_prepared(root / "prepared", *prepare(make_text(300), 0.1))
    model_cfg, train_cfg = tiny("model"), tiny("train")
    run = RunDir(root / "run")
    best, _ = fit(model_cfg, train_cfg, 1, root / "prepared", run, progress=False)
    return best


def generate(*args: str, cwd: Path = ROOT, module: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "charlm"] if module else [str(CHARLM)]
    return subprocess.run([*command, "generate", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_continues_a_prompt_at_two_temperatures_reproducibly(checkpoint, tmp_path):
    args = ("--checkpoint", str(checkpoint), "--prompt", "KING:\n", "-t", "0.5", "--temperature", "1.5",
            "--length", "80", "--seed", "3")
    first = generate(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    texts = first.stdout.split("--- T=")[1:]
    assert [t.splitlines()[0] for t in texts] == ["0.5, text 1 of 1 ---", "1.5, text 1 of 1 ---"]
    for text in texts:
        body = text.split("---\n", 1)[1].rstrip("\n")
        assert body.startswith("KING:\n") and len(body) == len("KING:\n") + 80
    assert generate(*args, module=True).stdout == first.stdout  # the same seed, the same text
    assert generate(*args[:-1], "4").stdout != first.stdout
    assert list(tmp_path.iterdir()) == []  # wrote nothing


def test_one_text_is_just_the_prompt_and_its_continuation(checkpoint):
    result = generate("--checkpoint", str(checkpoint), "--prompt", "the king", "-n", "50")
    assert result.returncode == 0 and result.stdout.startswith("the king") and len(result.stdout) == 8 + 50 + 1


def test_prints_as_it_generates(checkpoint):
    """The first characters arrive while a long text is still being generated."""
    proc = subprocess.Popen([str(CHARLM), "generate", "--checkpoint", str(checkpoint), "--prompt", "the",
                             "--length", "100000000"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.read(70).startswith("the")
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("args, message", [
    (("--checkpoint", "nowhere/best.ckpt"), "error: nowhere/best.ckpt not found: train a model first"),
    (("--prompt", "KING §:"), "error: the prompt has characters not in the vocabulary: '§' "
                             "(remove them, or pass --skip-unknown)"),
    (("-t", "0"), "error: charlm generate: argument --temperature/-t: '0' must be > 0"),
    (("--length", "x"), "error: charlm generate: argument --length/-n: 'x' is not a int"),
], ids=["missing-checkpoint", "unknown-character", "zero-temperature", "bad-length"])
def test_bad_input_is_one_line(checkpoint, args, message):
    result = generate("--checkpoint", str(checkpoint), *args)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(message), result.stderr


def test_unknown_characters_can_be_dropped(checkpoint):
    result = generate("--checkpoint", str(checkpoint), "--prompt", "KING §:", "--skip-unknown", "-n", "10")
    assert result.returncode == 0 and result.stdout.startswith("KING §:")
    assert "dropping prompt characters not in the vocabulary: '§'" in result.stderr


def test_help_explains_every_option():
    text = generate("--help").stdout
    for option in ("--prompt", "--temperature", "--length", "--count", "--seed", "--checkpoint", "--skip-unknown"):
        assert option in text
    assert "models/best.ckpt" in text
