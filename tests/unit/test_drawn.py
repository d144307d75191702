"""The record of how a text was drawn, as the page hands it from Write to How sure."""

from __future__ import annotations

from charlm.app.drawn import Drawn, written_view

RECORD = {"prompt": "KING:\n", "text": "No.", "temperature": 0.7, "top_k": 5, "top_p": 0.9, "seed": 12}


def test_the_record_travels_as_json_and_says_its_settings():
    drawn = Drawn.read(RECORD)
    assert drawn.json() == RECORD and drawn.how() == "T = 0.7, top-k 5, top-p 0.9"
    assert "seed **12**" in drawn.settings() and "3 characters" in drawn.settings()
    assert "top-k off" in Drawn.read({**RECORD, "top_k": 0}).settings()


def test_the_prompt_is_marked_apart_and_escaped():
    view = written_view("<b>", "a & b")
    assert '<span class="prompt" title="your prompt">&lt;b&gt;</span>' in view and "a &amp; b" in view
