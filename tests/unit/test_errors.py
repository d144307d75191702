"""The one-line error of every entry point: CharlmError and OSError become `error: ...` and a status."""

from __future__ import annotations

import pytest

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


