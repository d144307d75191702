"""Adapting a model to a text: it learns as it reads, within its time, and the checkpoint stays as it was."""

from __future__ import annotations

import hashlib

import pytest
import torch

from charlm import LitCharRNN
from charlm.errors import CharlmError
from charlm.evaluate.adapt import Reading, adapt, held_out, max_chars, project_reading, reading, text_codes
from charlm.evaluate.dynamic import Rule
from charlm.model.checkpoint import load_checkpoint, save
from tests.helpers.config import tiny

VOCAB = list("\n abcdefgh")
TEXT = "abc defg hab cde fgh\n" * 60  # repetitive: a model that reads it learns it
RMS = Reading(Rule("rms", 0.001, 0.003), 50, 2000)


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    return save(LitCharRNN(len(VOCAB), embed_dim=8, hidden_size=16, vocab=VOCAB), tmp_path / "m.ckpt")


def test_the_adapted_model_knows_the_text_better_and_the_checkpoint_is_unchanged(checkpoint):
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    model = load_checkpoint(checkpoint)
    weights = {k: v.clone() for k, v in model.weights.items()}
    codes, unknown = text_codes(TEXT, VOCAB, "text")
    adapted = adapt(model, codes, 600, Reading(Rule("sgd", 1.0), 50, 2000), None)
    assert adapted.checked == 126 - 1 and adapted.chars == len(TEXT) - 126 - 1 and unknown == ""  # a tenth
    assert adapted.after < adapted.before  # on the end it never learnt from
    assert adapted.model.vocab == VOCAB and adapted.model.hparams is model.hparams
    assert any(not torch.equal(adapted.model.weights[k], w) for k, w in weights.items())
    assert all(torch.equal(model.weights[k], w) for k, w in weights.items())  # the loaded model too
    assert hashlib.sha256(checkpoint.read_bytes()).hexdigest() == digest


def test_the_time_cap_ends_the_reading(checkpoint):
    codes, _ = text_codes(TEXT, VOCAB, "text")
    assert adapt(load_checkpoint(checkpoint), codes, 0, RMS, None).chars == 50  # one segment, then time


def test_line_ends_become_line_breaks_and_unknown_characters_are_left_out():
    codes, unknown = text_codes("ab\r\ncd§é\rh", VOCAB, "text")
    assert "".join(VOCAB[i] for i in codes) == "ab\ncd\nh" and unknown == "§é"
    with pytest.raises(CharlmError, match="^notes.txt has 3 characters the model knows: adapting needs at"
                                          " least 4"):
        text_codes("a§b§c", VOCAB, "notes.txt")


def test_the_reading_is_the_evaluate_stage_s_choice_else_params_yaml_s():
    cfg = tiny("evaluate", rule="rms", lrs=[0.004, 0.001, 0.002], decay=0.01, segment=30, search_chars=500)
    assert reading(cfg, None) == Reading(Rule("rms", 0.002, 0.01), 30, 500)  # the middle rate
    chosen = {"rule": "sgd", "lr": 0.5, "segment": 20}
    assert reading(cfg, chosen) == Reading(Rule("sgd", 0.5, 0.0), 20, 500)
    with pytest.raises(CharlmError, match="rerun the evaluate stage"):
        reading(cfg, {"rule": "rms"})
    with pytest.raises(CharlmError, match="rerun the evaluate stage"):
        reading(cfg, {"rule": "adam", "lr": 0.1, "segment": 20})


def test_a_project_s_reading_follows_its_metrics_and_params(tmp_path, monkeypatch):
    from bench.project import write_params

    monkeypatch.chdir(tmp_path)
    write_params(tmp_path, {"evaluate.lrs": [0.003], "evaluate.segment": 40})
    assert project_reading(None).rule.lr == 0.003 and project_reading(None).segment == 40
    metrics = tmp_path / "evaluate.json"
    metrics.write_text('{"dynamic": {"rule": "rms", "lr": 0.0005, "decay": 0.002, "segment": 25}}')
    assert project_reading(metrics) == Reading(Rule("rms", 0.0005, 0.002), 25, 20_000)
    assert project_reading(tmp_path / "absent.json").rule.lr == 0.003


def test_statistics_come_from_held_out_text_never_the_text_read(checkpoint):
    """The rms rule's statistics: the end of the validation text, or text the model writes itself."""
    model = load_checkpoint(checkpoint)
    val = torch.arange(100) % len(VOCAB)
    assert torch.equal(held_out(model, val, 30), val[-30:])
    own = held_out(model, None, 300)
    assert len(own) == 300 and int(own.max()) < len(VOCAB)


def test_a_rate_of_zero_reads_without_learning(checkpoint):
    codes, _ = text_codes(TEXT, VOCAB, "text")
    a = adapt(load_checkpoint(checkpoint), codes, 600, Reading(Rule("rms", 0.0, 0.003), 50, 2000), None)
    assert a.before == a.after


def test_a_long_text_is_encoded_only_as_far_as_the_time_can_read():
    codes, _ = text_codes("ab\r\n" * 1000, VOCAB, "text", limit=10)
    assert "".join(VOCAB[i] for i in codes) == "ab\nab\nab\na"  # the first 10 characters
    assert max_chars(2) > max_chars(1) > 1000  # far more than a second's reading


def test_before_and_after_are_scored_on_the_end_it_never_learnt_from(checkpoint):
    """A text whose end differs from the rest: learning the rest does not make the end look learnt."""
    codes, _ = text_codes("abc " * 400 + "hgfedcba\n" * 20, VOCAB, "text")
    a = adapt(load_checkpoint(checkpoint), codes, 600, Reading(Rule("sgd", 1.0), 50, 2000), None)
    assert a.checked == 178 - 1 and a.online < a.after  # the part read was learnt; its end was not


def test_an_adapting_nobody_waits_for_stops_after_one_segment(checkpoint):
    codes, _ = text_codes(TEXT, VOCAB, "text")
    asked = []
    with pytest.raises(CharlmError, match="abandoned: whoever asked for it has gone"):
        adapt(load_checkpoint(checkpoint), codes, 600, RMS, None, abandoned=lambda: asked.append(1) or True)
    assert len(asked) == 3  # after the statistics' first segment, the reading's first, and before scoring
