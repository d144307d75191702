"""The record of how a text was drawn, as the page hands it from Write to How sure."""

from __future__ import annotations

import pytest

from charlm.app.drawn import Drawn, earlier_view, written_view
from charlm.errors import CharlmError

RECORD = {"prompt": "KING:\n", "text": "No.", "temperature": 0.7, "top_k": 5, "top_p": 0.9, "seed": 12}


def test_the_record_travels_as_json_and_says_its_settings():
    drawn = Drawn.read(RECORD)
    assert drawn.json() == {**RECORD, "model": "the checkpoint"}
    assert drawn.how() == "T = 0.7, top-k 5, top-p 0.9"
    assert "seed **12**" in drawn.settings() and "3 characters" in drawn.settings()
    assert "top-k off" in Drawn.read({**RECORD, "top_k": 0}).settings()


def test_the_prompt_is_marked_apart_and_escaped():
    view = written_view("<b>", "a & b")
    assert '<span class="prompt" title="your prompt">&lt;b&gt;</span>' in view and "a &amp; b" in view


def test_greedy_text_does_not_show_a_seed_that_decides_nothing():
    for greedy in ({**RECORD, "temperature": 0}, {**RECORD, "top_k": 1}):
        drawn = Drawn.read(greedy)
        assert drawn.greedy and "seed" not in drawn.settings().replace("every seed", "")
        assert "seed" not in drawn.label()
    assert Drawn.read(RECORD).label() == "T = 0.7, top-k 5, top-p 0.9, seed 12"


def test_earlier_texts_stand_side_by_side_under_their_settings():
    view = earlier_view([{**RECORD, "temperature": 1.5, "text": "hot"}, {**RECORD, "text": "cool"}])
    assert view.startswith('<div class="earlier">') and view.count("<figure>") == 2
    assert view.index("T = 1.5") < view.index("hot") < view.index("T = 0.7") < view.index("cool")
    assert earlier_view([]) == ""


def test_a_text_by_the_adapted_copy_says_so():
    drawn = Drawn.read({**RECORD, "model": "the adapted copy"})
    assert drawn.settings().startswith("Written by the adapted copy at temperature 0.7")
    assert drawn.label().endswith("(the adapted copy)")
    with pytest.raises(CharlmError, match="a written text is a record of"):
        Drawn.read({**RECORD, "model": "another"})
