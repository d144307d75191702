"""The character report of the prepare stage."""

from __future__ import annotations

import numpy as np

from charlm.text.charstats import char_counts, report


def test_report_names_the_rare_characters():
    table = char_counts(np.array([50, 3, 40]), ["a", "§", " "])
    assert table["char"].tolist() == ["a", "␣", "§"]  # most frequent first
    text = report(table, rare_below=5)
    assert "most frequent: a 53.8%, ␣ 43.0%" in text
    assert "1 characters occur fewer than 5 times (stray symbols?): §(U+00A7)" in text
