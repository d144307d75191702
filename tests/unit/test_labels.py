"""Characters and text as tables and plots show them."""

from __future__ import annotations

from charlm.labels import char_label, plain


def test_characters_are_labelled_for_tables_and_plots():
    assert [char_label(c) for c in " \n\ta$\x07"] == ["␣", "\\n", "\\t", "a", "$", "U+0007"]


def test_dollar_signs_stay_dollar_signs():
    assert plain("$5 or $6") == r"\$5 or \$6"
