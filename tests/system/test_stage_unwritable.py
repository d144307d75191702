"""A full disk or a read-only folder: one line, a non-zero exit, the previous outputs unchanged.

A full disk is simulated with RLIMIT_FSIZE in the stage's process: a write past the limit fails with
EFBIG, as one on a full disk fails with ENOSPC (Python ignores SIGXFSZ, so the write raises). A
read-only folder is chmod 0555; root ignores that thanks to CAP_DAC_OVERRIDE (as in many CI
containers), so a stage started by root runs without that capability.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.project import copy_project, write_params
from charlm.model.checkpoint import load_checkpoint
from charlm.text.splits import load_split, load_vocab
from tests.helpers.stages import GOOD, run_all, snapshot

PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1  # from <linux/prctl.h>, <linux/capability.h>


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every stage run once, with a copy of the code: the stages run as processes here."""
    root = tmp_path_factory.mktemp("unwritable")
    copy_project(root)
    return run_all(root)


def cap_file_size(max_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))


def obey_permissions() -> None:
    """Make root (uid 0) subject to file permissions, in this process and what it executes."""
    if os.geteuid() == 0 and ctypes.CDLL(None).prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError("cannot drop CAP_DAC_OVERRIDE, which root needs dropped to meet a read-only folder")


def run_stage_limited(stage: str, root: Path, max_file_bytes: int | None) -> subprocess.CompletedProcess[str]:
    """`python -m stages.<stage>` in `root` (its own copy of the code), with files capped at
    `max_file_bytes`, or else bound by file permissions."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)  # python -m puts the working directory first
    limit = (lambda: cap_file_size(max_file_bytes)) if max_file_bytes else obey_permissions
    return subprocess.run([sys.executable, "-m", f"stages.{stage}"], cwd=root, env=env, preexec_fn=limit,
                          capture_output=True, text=True, timeout=300)


@contextmanager
def new_inputs(root: Path) -> Iterator[None]:
    """A changed book and params, so that what a stage would write differs from what is there."""
    book = root / "data/books/corpus.txt"
    text = book.read_text()
    book.write_text(text + "KING:\nA line the earlier outputs have not seen.\n")
    write_params(root, {**GOOD, "seed": 7, "prepare.val_fraction": 0.2})
    try:
        yield
    finally:
        book.write_text(text)
        write_params(root, GOOD)


@contextmanager
def read_only_folder(path: Path | None) -> Iterator[None]:
    if path:
        path.chmod(0o555)
    try:
        yield
    finally:
        if path:
            path.chmod(0o755)


FULL = "File too large (free some space and run again); the previous outputs are unchanged"
READ_ONLY = "Permission denied (make the folder writable and run again); the previous outputs are unchanged"

CASES = [
    # stage, file size cap in bytes (None: a read-only folder instead), that folder, the expected message
    ("download", 2_000, None, f"cannot write data/raw/corpus.txt: {FULL}"),
    ("prepare", 2_000, None, f"cannot write data/prepared/train.npy: {FULL}"),
    ("prepare", None, "data", f"cannot write data/prepared: {READ_ONLY}"),
    ("train", 20_000, None, f"cannot write models/run/checkpoints/best.ckpt: {FULL}"),
    ("train", None, "metrics", f"cannot write metrics/train.json: {READ_ONLY}"),
    ("sample", 20_000, None, f"cannot write plots/recognisable_words.png: {FULL}"),
    ("sample", None, "data/samples", f"cannot write data/samples: {READ_ONLY}"),
    ("plot_softmax", None, "plots", f"cannot write plots/softmax_random.png: {READ_ONLY}"),
    ("plot_softmax", 20_000, None, f"cannot write plots/softmax_random.png: {FULL}"),
]


@pytest.mark.parametrize("stage, max_file_bytes, read_only, message", CASES,
                         ids=[f"{c[0]}-{'full' if c[1] else 'read-only ' + c[2]}" for c in CASES])
def test_unwritable_outputs_fail_cleanly(workspace, stage, max_file_bytes, read_only, message):
    root = workspace
    with new_inputs(root):
        before = snapshot(root)
        with read_only_folder(root / read_only if read_only else None):
            result = run_stage_limited(stage, root, max_file_bytes)
        after = snapshot(root)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    if stage == "train":  # Lightning's own info lines come first ("GPU available: False, used: False")
        assert ("Traceback" not in result.stderr
                and [line for line in lines if line.startswith("error")] == lines[-1:])
        lines = lines[-1:]
    assert lines == [f"error: {message}"], result.stderr
    if stage == "train":  # dvclive/ is the live log of the failed run, models/run/ its resumable state
        before, after = ({k: v for k, v in s.items() if not k.startswith(("dvclive/", "models/run/"))}
                         for s in (before, after))
    assert after == before
    assert not [p for p in root.rglob("*.tmp")]  # no temp file left behind
    vocab = load_vocab(root / "data/prepared")  # and the previous outputs still load
    assert len(load_split(root / "data/prepared", "train")) > 0
    assert load_checkpoint(root / "models/best.ckpt", vocab=vocab).vocab == vocab
