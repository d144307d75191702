"""`charlm generate`: text on demand from a checkpoint, without touching the pipeline's outputs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.project import ROOT, write_params
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


def test_the_same_temperature_twice_gives_two_separate_texts(checkpoint):
    result = generate("--checkpoint", str(checkpoint), "--prompt", "the", "-t", "0.5", "0.5", "-n", "40")
    texts = result.stdout.split("--- T=0.5, text 1 of 1 ---\n")[1:]
    assert len(texts) == 2 and all(t.rstrip("\n").startswith("the") and len(t.rstrip("\n")) == 43
                                   for t in texts)


def test_one_text_is_just_the_prompt_and_its_continuation(checkpoint):
    result = generate("--checkpoint", str(checkpoint), "--prompt", "the king", "-n", "50")
    assert (result.returncode == 0 and result.stdout.startswith("the king")
            and len(result.stdout) == 8 + 50 + 1)


def test_prints_as_it_generates(checkpoint):
    """The first characters arrive while a long text is still being generated."""
    proc = subprocess.Popen([str(CHARLM), "generate", "--checkpoint", str(checkpoint), "--prompt", "the",
                             "--length", "1000000", "--count", "3"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.read(70).startswith("--- T=0.8, text 1 of 3 ---\nthe")
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("args, message", [
    (("--checkpoint", "nowhere/best.ckpt"), "error: nowhere/best.ckpt not found: train a model first"),
    (("--checkpoint", "."), "error: . is a directory, not a checkpoint"),
    (("--prompt", "KING §:"), "error: the prompt has characters not in the vocabulary: '§' "
                             "(remove them, or pass --skip-unknown)"),
    (("-t", "-1"), "error: charlm generate: temperatures=[-1.0] is invalid; expected 1 to 100 numbers"
                   " from 0 (greedy) to 100"),
    (("-t", "nan"), "error: charlm generate: argument --temperature/-t: 'nan' must be finite"),
    (("--top-k", "99999999999999999999"), "error: charlm generate: top_k=99999999999999999999 is invalid;"
                                          " expected an integer from 0 to 65,536"),
    (("--length", "x"), "error: charlm generate: argument --length/-n: 'x' is not a whole number"),
    (("-n", "1e3"), "error: charlm generate: argument --length/-n: '1e3' is not a whole number"),
    (("--top-p", "1.5"), "error: charlm generate: top_p=1.5 is invalid; expected a number with 0 < top_p <="
                         " 1"),
], ids=["missing-checkpoint", "folder", "unknown-character", "negative-temperature", "nan-temperature",
        "huge-top-k", "bad-length", "1e3", "top-p"])
def test_bad_input_is_one_line(checkpoint, args, message):
    result = generate("--checkpoint", str(checkpoint), *args)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(message), result.stderr


def test_unknown_characters_can_be_dropped_and_the_prompt_shown_is_what_the_model_read(checkpoint):
    result = generate("--checkpoint", str(checkpoint), "--prompt", "KING §:", "--skip-unknown", "-n", "10")
    assert result.returncode == 0 and result.stdout.startswith("KING :")
    assert "dropping prompt characters not in the vocabulary: '§'" in result.stderr


def test_a_closed_pipe_ends_quietly(checkpoint):
    proc = subprocess.run(f"'{CHARLM}' generate --checkpoint '{checkpoint}' -n 200000 --count 3"
                          " | head -c 100",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert len(proc.stdout) == 100 and proc.stderr == ""


def test_a_terminal_that_cannot_show_a_character_gets_its_escape(tmp_path):
    model = LitCharRNN(3, embed_dim=2, hidden_size=2, vocab=["a", "é", "\n"])
    path = save_checkpoint(model, tmp_path / "best.ckpt")
    result = generate("--checkpoint", str(path), "--prompt", "aé", "-n", "30", PYTHONIOENCODING="ascii")
    assert result.returncode == 0 and result.stdout.startswith("a\\xe9") and result.stderr == ""



def test_a_closed_standard_output_is_one_line(checkpoint):
    """`charlm generate -n 30 >&-`: the text has nowhere to go."""
    result = subprocess.run(f"'{CHARLM}' generate --checkpoint '{checkpoint}' -n 30 >&-", shell=True,
                            capture_output=False, stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 1
    said = "error: charlm generate: standard output is closed: there is nowhere to write the text\n"
    assert result.stderr == said


@pytest.mark.parametrize("port", ["70000", "0", "-1"])
def test_a_port_out_of_range_is_one_line(port):
    result = subprocess.run([str(CHARLM), "explore", "--port", port], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: charlm explore: argument --port: '{port}' must be from 1 to"
                                    " 65535")


def test_adapt_reads_a_text_then_writes_with_the_adapted_weights(checkpoint, tmp_path):
    """--adapt: the loss on the text before, while and after adapting on stderr; another text than without
    it from the same seed; the checkpoint file byte for byte as it was."""
    before = checkpoint.read_bytes()
    write_params(tmp_path, {})  # the project's: how --adapt reads (params.yaml's evaluate section)
    chapter = tmp_path / "chapter.txt"
    chapter.write_text("the queen said: and so it is.\r\n" * 200 + "\u00a7", encoding="utf-8")
    args = ("--checkpoint", str(checkpoint), "--prompt", "the ", "-n", "60", "--seed", "1")
    adapted = generate(*args, "--adapt", str(chapter), "--adapt-seconds", "60", cwd=tmp_path)
    assert adapted.returncode == 0, adapted.stderr
    notes = adapted.stderr.splitlines()
    assert notes[0] == "adapt: left out characters the model does not know: '§'"
    assert notes[1].startswith(f"adapt: read 5,399 characters of {chapter} in ")  # a tenth set aside
    assert "on its last 600 characters, set aside:" in notes[1]
    assert notes[1].endswith("(the checkpoint is unchanged)")
    assert adapted.stdout != generate(*args, cwd=tmp_path).stdout
    assert checkpoint.read_bytes() == before


@pytest.mark.parametrize("what, message", [
    ("folder", "is a directory: name a UTF-8 text file"),
    ("fifo", "is not a regular file (a device, pipe or socket): name a UTF-8 text file"),
    ("/dev/zero", "is not a regular file (a device, pipe or socket): name a UTF-8 text file"),
    ("missing", ": no such file (name a UTF-8 text file)"),
])
def test_adapt_names_what_is_not_a_text_file(checkpoint, tmp_path, what, message):
    path = Path(what) if what.startswith("/") else tmp_path / what
    if what == "folder":
        path.mkdir()
    elif what == "fifo":
        os.mkfifo(path)
    result = generate("--checkpoint", str(checkpoint), "--adapt", str(path), cwd=tmp_path)
    assert result.returncode == 1 and result.stderr == f"error: --adapt {path} {message}\n".replace(
        f"{path} :", f"{path}:")


def test_adapt_reads_as_the_evaluate_stage_chose_for_the_pipeline_s_model(checkpoint, tmp_path):
    """The pipeline's checkpoint: --adapt reads with metrics/evaluate.json's settings; here a rate of 0,
    so it learns nothing and writes what the model writes without it."""
    write_params(tmp_path, {"evaluate.lrs": [0.001]})
    (tmp_path / "models").mkdir()
    shutil.copy(checkpoint, tmp_path / "models/best.ckpt")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/evaluate.json").write_text(
        json.dumps({"dynamic": {"rule": "rms", "lr": 0.0, "decay": 0.003, "segment": 50}}))
    chapter = tmp_path / "chapter.txt"
    chapter.write_text("the queen said: and so it is.\n" * 100, encoding="utf-8")
    args = ("--prompt", "the ", "-n", "60", "--seed", "1")
    adapted = generate(*args, "--adapt", str(chapter), cwd=tmp_path)
    assert adapted.returncode == 0, adapted.stderr
    loss = re.search(r"([0-9.]+) before, ([0-9.]+) after", adapted.stderr)
    assert loss and loss[1] == loss[2], adapted.stderr
    assert adapted.stdout == generate(*args, cwd=tmp_path).stdout
