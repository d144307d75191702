"""Characters and text as tables and plots show them."""

from __future__ import annotations

from charlm.labels import char_label, plain


def test_characters_are_labelled_for_tables_and_plots():
    assert [char_label(c) for c in " \n\ta$\x07"] == ["␣", "\\n", "\\t", "a", "$", "U+0007"]


def test_dollar_signs_stay_dollar_signs():
    assert plain("$5 or $6") == r"\$5 or \$6"


def test_characters_the_font_cannot_draw_show_their_code_point_without_a_warning_each(tmp_path):
    """A corpus of 2,000 CJK characters gave 2,049 "Glyph missing" warnings and a chart of boxes."""
    import warnings

    import numpy as np

    from charlm.text.charstats import char_counts, plot_frequency

    assert plain("a\u4e00b") == "aU+4E00b" and plain("é␣") == "é␣"
    chars = [chr(0x4E00 + i) for i in range(300)] + list("abc")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_frequency(char_counts(np.arange(1, len(chars) + 1), chars), 2, tmp_path / "f.png")
    assert not [w for w in caught if "Glyph" in str(w.message)]
