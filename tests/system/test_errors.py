"""The one-line error of every entry point: CharlmError and OSError become `error: ...` and a status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from bench.project import ROOT


def test_ctrl_c_while_a_stage_loads_is_one_line(tmp_path):
    """Ctrl-C in the first seconds of a stage, while torch and Lightning are still being imported: one
    line, status 130, no traceback. The signal goes as soon as the import log shows charlm loaded."""
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "stages.train"], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.rstrip().endswith("| charlm"):  # charlm and its handler are in; torch is not yet
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130
    said = [line for line in (lines + rest.splitlines(keepends=True)) if not line.startswith("import time:")]
    assert said == ["error: interrupted\n"], "".join(said)

