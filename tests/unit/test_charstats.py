"""The character report of the prepare stage."""

from __future__ import annotations

import numpy as np

from charlm.text.charstats import PLOTTED, char_counts, plot_frequency, report


def test_report_names_the_rare_characters():
    table = char_counts(np.array([50, 3, 40]), ["a", "§", " "])
    assert table["char"].tolist() == ["a", "␣", "§"]  # most frequent first
    text = report(table, rare_below=5)
    assert "most frequent: a 53.8%, ␣ 43.0%" in text
    assert "1 characters occur fewer than 5 times (stray symbols?): §(U+00A7)" in text


def test_the_plot_shows_the_most_frequent_characters_whatever_the_vocabulary(tmp_path):
    """65,536 characters make the same figure as PLOTTED do: its size does not grow with the vocabulary."""
    from PIL import Image

    counts = np.arange(1, 65_537)
    plot_frequency(char_counts(counts, [chr(0x4E00 + i) for i in range(65_536)]), 5, tmp_path / "f.png")
    plot_frequency(char_counts(counts[:PLOTTED], [chr(0x4E00 + i) for i in range(PLOTTED)]), 5,
                   tmp_path / "g.png")
    width, height = Image.open(tmp_path / "f.png").size
    assert (width, height) < (1.2 * Image.open(tmp_path / "g.png").size[0], 1000)  # 65,536 bars: 10,000 in


def test_a_vocabulary_of_rare_characters_is_reported_in_a_line_to_read():
    """65,473 rare characters once made a line of 700 kB: the first LISTED are named, the rest counted."""
    from charlm.text.charstats import LISTED

    table = char_counts(np.ones(10_000, dtype=int), [chr(0x4E00 + i) for i in range(10_000)])
    rare = report(table, rare_below=5).splitlines()[-1]
    assert rare.startswith("10,000 characters occur fewer than 5 times")
    assert rare.endswith(f" and {10_000 - LISTED:,} more") and len(rare) < 1000
