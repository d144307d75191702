"""The one-line error of every entry point: CharlmError and OSError become `error: ...` and a status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from conftest import ROOT

from charlm.errors import CharlmError, cli


@pytest.mark.parametrize("raised, status, line", [
    (CharlmError("params.yaml: seed=-1 is invalid"), 1, "error: params.yaml: seed=-1 is invalid"),
    (PermissionError(13, "Permission denied", "x"), 1, "error: [Errno 13] Permission denied: 'x'"),
    (KeyboardInterrupt(), 130, "error: interrupted"),
], ids=["charlm", "os", "interrupt"])
def test_an_entry_point_fails_with_one_line_and_a_status(capsys, raised, status, line):
    def main() -> None:
        raise raised

    with pytest.raises(SystemExit) as exit_:
        cli(main)
    assert exit_.value.code == status and capsys.readouterr().err == line + "\n"


def test_other_errors_are_not_hidden():
    """A bug in charlm is a bug: its traceback is how it gets reported."""
    def main() -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        cli(main)


@pytest.mark.slow
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
