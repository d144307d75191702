"""The exercise's question in numbers: the share of generated words found in the training text."""

from __future__ import annotations

import pytest

from charlm.sample.words import known_words, word_metrics, words, written_words
from charlm.text.splits import load_text, text_chunks


@pytest.mark.parametrize("chunk", [3, 7, 64, 10_000])
def test_known_words_of_a_split_read_in_chunks(prepared_dir, monkeypatch, chunk):
    """The sample stage's known words come from the training split a chunk at a time (it may be larger than
    memory), and no word is cut in two where a chunk ends."""
    monkeypatch.setattr("charlm.text.splits.CHUNK", chunk)
    text = load_text(prepared_dir, "train")
    assert "".join(text_chunks(prepared_dir, "train")) == text
    assert known_words(text_chunks(prepared_dir, "train")) == set(words(text))
    assert known_words(["the ki", "ng is d", "ead"]) == {"the", "king", "is", "dead"}


def test_word_metrics():
    known = set(words("the king is dead long live the king"))
    m = word_metrics("The king is gone, long live the qu", known)  # 'qu' is cut off, not counted
    assert m["words"] == 7
    assert m["recognisable_words"] == round(6 / 7, 4)
    assert m["distinct_bigrams"] == 1.0
    assert word_metrics("the the the the ", known)["distinct_bigrams"] == round(1 / 3, 4)
    pooled = word_metrics(["the king is", "dead zzz "], known)  # no bigram across the two texts
    assert pooled == {"words": 4, "recognisable_words": 0.75, "distinct_bigrams": 1.0}


def test_only_the_words_the_model_wrote_count():
    """A prompt ending mid-word leaves the model to finish that word: it is not the model's word."""
    assert written_words("ta, my lord. ", prompt="neighbour Bap") == ["my", "lord"]
    assert written_words(" ta, my lord. ", prompt="neighbour Bap") == ["ta", "my", "lord"]
    assert written_words("King is", prompt="") == ["king"]  # 'is' may go on
    known = set(words("my lord"))
    assert word_metrics("tista, my lord. ", known, prompt="Bap")["recognisable_words"] == 1.0


def test_a_text_without_words_has_no_share():
    m = word_metrics(["?! 3 ", "..."], {"the"})
    assert m == {"words": 0, "recognisable_words": None, "distinct_bigrams": None}


def test_short_words_are_not_scored_but_still_make_bigrams():
    """With min_letters 3, 'a', 'ay' and 'o'' are left out of the share (chance matches); an apostrophe is
    no letter; the word pairs still count every word."""
    known = set(words("a king is dead"))
    assert written_words("a king, ay o' the zq o'er ", min_letters=3) == ["king", "the", "o'er"]
    m = word_metrics("a king is qz ha the end ", known, min_letters=3)
    assert m["words"] == 3 and m["recognisable_words"] == round(1 / 3, 4)
    assert m["distinct_bigrams"] == 1.0 and word_metrics("a king is qz ha the end ", known)["words"] == 7
