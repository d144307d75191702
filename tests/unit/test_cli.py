"""The `charlm` command's own logic, in this process (the command as a process: tests/system/test_cli.py)."""

from __future__ import annotations

import pytest

from charlm.app.cli import in_order, main


def test_texts_generated_together_are_shown_one_after_the_other():
    pieces = [(0, "a"), (1, "x"), (0, "b"), (1, "y"), (2, "p"), (3, "q"), (2, "r"), (3, "s")]
    assert list(in_order(pieces, 2)) == [(0, "a"), (0, "b"), (1, "x"), (1, "y"), (2, "p"), (2, "r"), (3, "q"),
                                         (3, "s")]


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as done:
        main(["generate", "--help"])
    text = capsys.readouterr().out
    assert done.value.code == 0
    for option in ("--prompt", "--temperature", "--top-k", "--top-p", "--length", "--count", "--seed",
                   "--checkpoint", "--skip-unknown", "0 = greedy"):
        assert option in text
    assert "models/best.ckpt" in text
