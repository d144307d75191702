"""`python -m bench`: one subcommand per benchmark, each with its own arguments and --corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import parser
from bench.project import BOOK


def test_each_subcommand_takes_its_own_arguments():
    p = parser()
    assert p.parse_args(["speed", "--quick"]).quick
    quality = p.parse_args(["quality", "10", "--seeds", "3"])
    assert (quality.minutes, quality.seeds, p.parse_args(["quality", "10"]).seeds) == (10, 3, 1)
    levers = p.parse_args(["levers", "2.5", "--only", "1", "12"])
    assert (levers.minutes, levers.only) == (2.5, [1, 12])
    assert p.parse_args(["memory", "1000"]).megabytes == 1000
    assert p.parse_args(["parallel", "--corpus", "x.txt"]).corpus == Path("x.txt")
    assert p.parse_args(["speed"]).corpus == BOOK


def test_no_subcommand_is_speed_and_modes_do_not_mix():
    assert parser().parse_args([]).command is None  # main() runs speed then
    with pytest.raises(SystemExit):
        parser().parse_args(["quality", "10", "--quick"])
    with pytest.raises(SystemExit):
        parser().parse_args(["--memory", "1000"])
    assert "With no subcommand: speed." in parser().format_help()
