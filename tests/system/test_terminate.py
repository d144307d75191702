"""SIGTERM, what schedulers, `docker stop` and CI send, is Ctrl-C: one line, exit 130, no temporary file
left behind (training's own resume point is test_resume.py's)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from bench.project import ROOT, write_params
from tests.helpers.text import make_text


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Poll `condition` (an event in the file system) while `proc` runs; fail if it ends first."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        assert proc.poll() is None, f"it ended before the event: {proc.communicate()}"
        pause.wait(0.02)
    raise AssertionError("the event never came")


def leftovers(root: Path) -> list[Path]:
    return list(root.rglob(".*.tmp"))


def test_sigterm_during_prepare_is_one_line_and_leaves_no_temporary_file(tmp_path):
    write_params(tmp_path, {})
    raw = tmp_path / "data/raw/corpus.txt"
    raw.parent.mkdir(parents=True)
    raw.write_text(make_text(400) * 500, encoding="utf-8")  # a few MB: prepare works for a while
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "stages.prepare"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: bool(leftovers(tmp_path / "data")), proc)  # inside its atomic writes
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err == "error: interrupted\n", (out, err)
    assert not leftovers(tmp_path) and not (tmp_path / "data/prepared").exists()


def test_sigterm_in_any_entry_point_is_ctrl_c():
    code = ("import os, signal; from charlm.errors import cli;"
            " cli(lambda: os.kill(os.getpid(), signal.SIGTERM) or signal.pause())")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 130 and result.stderr == "error: interrupted\n"


def test_sigterm_after_the_work_is_done_does_not_change_the_outcome():
    """Between the entry point's end and the process's (Python shutting down), SIGTERM once ended a
    finished stage with 143 and no line: the stage had written everything, DVC saw a failure."""
    code = ("import os, signal; from charlm.errors import cli;"
            " cli(lambda: print('done', flush=True)); os.kill(os.getpid(), signal.SIGTERM)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, "done\n", "")
