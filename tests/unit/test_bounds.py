"""The limits one request to the explorer may ask for."""

from __future__ import annotations

import pytest

from charlm.app.bounds import check, check_text, seed_of
from charlm.errors import CharlmError


def test_a_seed_is_a_whole_number_or_nothing():
    assert [seed_of(v) for v in (None, "", "  ", "42", 7)] == [None, None, None, 42, 7]
    for bad in ("4.5", "-1", "x", True):
        with pytest.raises(CharlmError, match="seed must be a whole number"):
            seed_of(bad)


@pytest.mark.parametrize("call, message", [
    (lambda: check("cell", 256, 0, 255), "cell must be from 0 to 255, got '256'"),
    (lambda: check("cell", True, 0, 255), "cell must be from 0 to 255"),
    (lambda: check_text("text", None, 10), "text must be a text, got NoneType"),
    (lambda: check_text("text", "x" * 11, 10), "text is 11 characters: at most 10 here"),
])
def test_out_of_bounds_is_one_line(call, message):
    with pytest.raises(CharlmError, match=message):
        call()
