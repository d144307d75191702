"""Prompts: the default one from the validation text, and characters the model never saw."""

from __future__ import annotations

import pytest

from charlm.errors import CharlmError
from charlm.sample.prompt import default_prompt, encode_prompt


def test_prompt_with_unknown_characters_is_refused():
    with pytest.raises(CharlmError, match=r"not in the vocabulary: '@Z' \(remove them, or try this\)"):
        encode_prompt("aZb@", ["a", "b"], remedy="remove them, or try this")


def test_prompt_unknown_characters_can_be_skipped(capsys):
    assert encode_prompt("aZb@", ["a", "b"], skip=True).tolist() == [0, 1]
    assert "dropping prompt characters not in the vocabulary: '@Z'" in capsys.readouterr().err
    with pytest.raises(CharlmError, match="no character of the vocabulary left"):
        encode_prompt("ZZ", ["a"], skip=True)
    with pytest.raises(CharlmError, match="the prompt is empty"):
        encode_prompt("", ["a"])


def test_the_default_prompt_starts_at_a_line():
    assert default_prompt("ng.\nKING: Now, my lord\n", 9) == "KING: Now"
    assert default_prompt("no line end here", 5) == "no li"
