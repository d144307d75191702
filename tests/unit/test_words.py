"""The exercise's question in numbers: the share of generated words found in the training text."""

from __future__ import annotations

import pandas as pd
import pytest

from charlm.sample.words import known_words, unrecognisable_from, word_metrics, words, written_words
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
    table = pd.DataFrame([{"temperature": 1.0, "recognisable_words": 0.8},
                          {"temperature": 2.0, "recognisable_words": None},
                          {"temperature": 3.0, "recognisable_words": 0.3}])
    assert unrecognisable_from(table, 0.5) == 3.0  # the temperature that wrote no word does not count
    assert unrecognisable_from(table.iloc[:2], 0.5) is None
