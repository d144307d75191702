"""Curly quotes, dashes and the like read as the plain characters a model knows."""

from __future__ import annotations

from charlm.text.standins import plain_typography

SHAKESPEARE = set("abcdefghijklmnopqrstuvwxyzI '\"-.,\n")


def test_curly_quotes_and_dashes_become_the_model_s_plain_ones():
    assert plain_typography("I’m “here”—now… here", SHAKESPEARE) == "I'm \"here\"-now... here"


def test_a_character_the_model_knows_stays_and_a_stand_in_it_lacks_is_not_used():
    assert plain_typography("a—b", SHAKESPEARE | {"—"}) == "a—b"
    assert plain_typography("a…b", set("ab")) == "a…b"  # no '.' to write it with
