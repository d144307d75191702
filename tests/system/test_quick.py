"""`make quick` runs an experiment through `dvc exp run -S`, which rewrites params.yaml: the user's own
file must come back however the run ends, Ctrl-C included (SIGINT to the process group, as a terminal
sends it)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from bench.project import ROOT, commit, copy_project, environment
from tests.helpers.config import TINY


def default_sigint() -> None:
    """In the child: Ctrl-C ends it even when this test runs with SIGINT ignored (a background job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_make_quick_leaves_params_yaml_as_it_was(tmp_path):
    repo = copy_project(tmp_path, {**TINY, "train.max_epochs": None})  # quick's 2 minutes: time to interrupt
    shutil.copy(ROOT / "Makefile", repo / "Makefile")
    commit(repo)
    before = (repo / "params.yaml").read_bytes()
    venv = Path(sys.executable).parent.parent
    proc = subprocess.Popen(["make", "-o", "install", "quick", f"VENV={venv}"], cwd=repo, env=environment(),
                            start_new_session=True, preexec_fn=default_sigint, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in proc.stdout:  # the event: training has started, params.yaml is quick's by now
        seen.append(line)
        if line.startswith("train: training from epoch 1"):
            assert (repo / "params.yaml").read_bytes() != before
            os.killpg(proc.pid, signal.SIGINT)
            break
    seen += proc.stdout.readlines()
    assert proc.wait(timeout=300) != 0, "".join(seen)
    assert (repo / "params.yaml").read_bytes() == before, "".join(seen)
    assert not (repo / ".params.yaml.quick").exists()
