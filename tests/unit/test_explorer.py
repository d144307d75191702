"""The explorer's panels as plain functions (the page's API is tested in test_explore.py)."""

from __future__ import annotations

import pytest
import torch

from charlm import LitCharRNN
from charlm.app.explorer import LINE_BREAK, Explorer, spans
from charlm.errors import CharlmError

VOCAB = list("\n abcdefghijklmnopqrstuvwxyz:")


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    torch.manual_seed(0)
    return Explorer(LitCharRNN(len(VOCAB), embed_dim=8, hidden_size=16, vocab=VOCAB).eval())


def test_writing_grows_the_text_and_shows_the_prompt_the_model_read(explorer):
    updates = list(explorer.write("ab§c", 0.8, 0, 1.0, 150, 3, True))
    assert len(updates) == 3 and all(shown == "abc" + text for shown, text in updates)
    assert len(updates[-1][1]) == 150


def test_spans_show_line_breaks_and_keep_one_score_per_character():
    assert spans("a\nb", [0.1, 0.2, 0.3]) == [("a", 0.1), (LINE_BREAK, 0.2), ("b", 0.3)]


def test_a_greedy_text_was_certain_at_t_0(explorer):
    text = list(explorer.write("ab", 0.0, 0, 1.0, 40, 0, False))[-1][1]
    assert {score for _, score in explorer.sure("ab", text, 0.0, False)} == {0.0}  # p = 1 everywhere


def test_without_prepared_data_there_are_no_word_shares_and_no_curves(explorer):
    table = explorer.sweep("ab", "0.5, 1", 60, 0, False)
    assert table["recognisable words"].isna().all() and len(table) == 2
    plot, message = explorer.training()
    assert plot is None and "run `make run`" in message


@pytest.mark.parametrize("call, message", [
    (lambda e: list(e.write("ab", 0.8, 0, 1.0, 5000, 0, False)), "length must be from 1 to 2000"),
    (lambda e: e.sweep("ab", "", 60, 0, False), "give 1 to 12 temperatures"),
    (lambda e: e.distribution("ab", "cd", 1.0, False, 7), "position must be from 0 to 1"),
    (lambda e: e.cell("", 1, 0), "give a text to read"),
])
def test_out_of_range_input_is_one_line(explorer, call, message):
    with pytest.raises(CharlmError, match=message):
        call(explorer)


def test_the_first_prompt_is_one_the_model_can_read(explorer, prepared_dir):
    assert explorer.first_prompt == "\n"  # no capital letters in VOCAB: not ROMEO's cue
    capitals = [*VOCAB, *"ROME"]
    assert Explorer(LitCharRNN(len(capitals), vocab=capitals)).first_prompt == "ROMEO:\n"
    from charlm.text.splits import load_vocab

    vocab = load_vocab(prepared_dir)
    other = Explorer(LitCharRNN(len(vocab), vocab=vocab), data=prepared_dir)
    assert other.first_prompt.endswith("\n") and set(other.first_prompt) <= set(vocab)


def test_a_checkpoint_and_data_of_different_vocabularies_are_refused(tmp_path, prepared_dir):
    from charlm.app.page import explorer
    from charlm.model.checkpoint import save

    path = save(LitCharRNN(len(VOCAB), embed_dim=8, hidden_size=16, vocab=VOCAB), tmp_path / "best.ckpt")
    with pytest.raises(CharlmError, match="was trained on another vocabulary than the prepared data in"):
        explorer(path, prepared_dir, tmp_path / "no-dvclive")
