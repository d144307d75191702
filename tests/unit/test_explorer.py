"""The explorer's panels as plain functions (the page's API: test_page.py, test_writing.py,
test_inside.py)."""

from __future__ import annotations

import pytest
import torch

from charlm import LitCharRNN
from charlm.app.explorer import LINE_BREAK, Explorer, spans
from charlm.errors import CharlmError

VOCAB = list("\n abcdefghijklmnopqrstuvwxyz:")
DRAWN = {"prompt": "ab", "text": "cd", "temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": 0}


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    torch.manual_seed(0)
    return Explorer(LitCharRNN(len(VOCAB), embed_dim=8, hidden_size=16, vocab=VOCAB).eval())


def test_writing_grows_the_text_and_shows_the_prompt_the_model_read(explorer):
    updates = list(explorer.write("ab§c", 0.8, 0, 1.0, 150, 3, True))
    assert len(updates) == 3 and all(drawn["prompt"] == "abc" for _, _, drawn in updates)
    view, settings, drawn = updates[-1]
    assert len(drawn["text"]) == 150 and '<span class="prompt" title="your prompt">abc</span>' in view
    assert "seed **3**" in settings and "temperature 0.8" in settings


def test_no_seed_is_a_random_one_shown_with_the_text(explorer):
    first, second = ([*explorer.write("ab", 0.8, 0, 1.0, 60, "", False)][-1][2] for _ in range(2))
    assert first["text"] != second["text"] and first["seed"] != second["seed"]
    again = [*explorer.write("ab", 0.8, 0, 1.0, 60, str(first["seed"]), False)][-1][2]
    assert again == first  # the seed shown writes the same text again


def test_the_colours_follow_the_distribution_the_text_was_drawn_from(explorer):
    drawn = [*explorer.write("ab", 1.0, 3, 1.0, 80, 5, False)][-1][2]
    scores = [score for _, score in explorer.sure(drawn)]
    as_if_all = [score for _, score in explorer.sure({**drawn, "top_k": 0})]
    assert all(s <= a for s, a in zip(scores, as_if_all, strict=True)) and scores != as_if_all
    fig, table, about = explorer.distribution(drawn, 0)
    assert table["p as drawn"].gt(0).sum() == 3 and about.startswith("Character 1 of 80")


def test_the_ranking_reads_the_whole_validation_stretch_and_opens_on_a_cell(prepared_dir):
    from charlm.text.splits import load_vocab

    vocab = load_vocab(prepared_dir)
    torch.manual_seed(0)
    ex = Explorer(LitCharRNN(len(vocab), embed_dim=8, hidden_size=16, vocab=vocab).eval(), data=prepared_dir)
    layer, cell, coloured, table, about = ex.opening_cell("KING:\nNo.")
    assert len(coloured) == 9 and set(table.columns) >= {"property", "layer", "cell", "r"}
    assert about.startswith(f"Layer {layer}, cell {cell}")
    assert table["r"].map(lambda r: r == round(r, 2)).all()


def test_spans_show_line_breaks_and_keep_one_score_per_character():
    assert spans("a\nb", [0.1, 0.2, 0.3]) == [("a", 0.1), (LINE_BREAK, 0.2), ("b", 0.3)]


def test_a_greedy_text_was_certain_at_t_0(explorer):
    drawn = list(explorer.write("ab", 0.0, 0, 1.0, 40, 0, False))[-1][2]
    assert {score for _, score in explorer.sure(drawn)} == {0.0}  # p = 1 everywhere


def test_without_prepared_data_there_are_no_word_shares_and_no_curves(explorer):
    with pytest.raises(CharlmError, match="the sweep needs the training text's words: pass --data"):
        explorer.sweep("ab", "0.5, 1", 2, 60, 0, False)
    plot, message = explorer.training()
    assert plot is None and "run <code>make run</code>" in message


@pytest.mark.parametrize("call, message", [
    (lambda e: list(e.write("ab", 0.8, 0, 1.0, 5000, 0, False)), "length must be from 1 to 2000"),
    (lambda e: e.sweep("ab", "", 2, 60, 0, False), "give 1 to 12 temperatures"),
    (lambda e: e.sweep("ab", "1", 21, 60, 0, False), "texts per temperature must be from 1 to 20"),
    (lambda e: e.distribution({**DRAWN, "text": "cd"}, 7), "position must be from 0 to 1"),
    (lambda e: e.sure({}), "nothing written yet"),
    (lambda e: e.sure({"text": "cd"}), "a written text is a record of prompt, text"),
    (lambda e: e.sure({**DRAWN, "top_p": 0}), "top_p=0 is invalid"),
    (lambda e: list(e.write("ab", 0.8, 0, 1.0, 50, "x1", False)), "seed must be a whole number"),
    (lambda e: e.cell("ab", 1, 16), "cell must be from 0 to 15"),
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


def test_adapting_changes_a_copy_and_shows_the_loss_before_while_and_after(explorer):
    weights = {k: v.clone() for k, v in explorer.model.state_dict().items()}
    summary, before, after, copy = explorer.adapt("the king and the queen\n" * 100, 30, "ab", 0.8, "4")
    assert summary.startswith("Read 2,069 characters in")  # the last 230, a tenth, set aside to score on
    assert "| | before | while reading | after |" in summary and "bits per character" in summary
    assert "seed 4" in summary
    assert before.count('class="prompt"') == after.count('class="prompt"') == 1 and before != after
    assert all(torch.equal(explorer.model.state_dict()[k], w) for k, w in weights.items())
    assert any(not torch.equal(copy.state_dict()[k], w) for k, w in weights.items())


def test_write_how_sure_and_sweep_follow_the_copy_the_page_uses(explorer):
    """A text by the adapted copy says so, How sure reads it with the copy, and refuses it without one."""
    copy = explorer.adapt("the king and the queen\n" * 100, 30, "ab", 0.8, "4")[3]
    controls = ("ab", 0.8, 0, 1.0, 60, "5", False)
    by_copy = list(explorer.write(*controls, copy))[-1]
    by_checkpoint = list(explorer.write(*controls))[-1]
    assert by_copy[2]["model"] == "the adapted copy" and by_copy[1].startswith("Written by the adapted copy")
    assert by_copy[2]["text"] != by_checkpoint[2]["text"]  # the same seed, another model
    assert explorer.sure(by_copy[2], copy) != explorer.sure({**by_copy[2], "model": "the checkpoint"}, copy)
    with pytest.raises(CharlmError, match="written by the adapted copy, which the page no longer"):
        explorer.sure(by_copy[2], None)


@pytest.mark.parametrize("call, message", [
    (lambda e: e.adapt("x" * 50_001, 5, "ab", 0.8, ""), "text is 50,001 characters: at most 50,000 here"),
    (lambda e: e.adapt("the king", 61, "ab", 0.8, ""), "seconds must be from 1 to 60"),
    (lambda e: e.adapt("§§", 5, "ab", 0.8, ""), "the text has 0 characters the model knows"),
])
def test_adapting_refuses_too_much_in_one_line(explorer, call, message):
    with pytest.raises(CharlmError, match=message):
        call(explorer)
