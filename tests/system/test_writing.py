"""The Write and How sure panels through the page's API: the record of how a text was drawn, the
colours from it, the distribution at a position."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gradio_client import Client

from charlm import LitCharRNN, tempered_softmax
from charlm.app.explorer import LINE_BREAK
from tests.system.test_page import PROMPT, drawn, write


@pytest.fixture(scope="module")
def client(explorer_page: str):
    return Client(explorer_page, verbose=False)


def test_the_colours_are_the_probabilities_the_text_was_drawn_with(client, trained_run):
    record = drawn(client, temperature=0.7, length=120)
    assert record["prompt"] == PROMPT and record["temperature"] == 0.7
    spans = client.predict(record, api_name="/sure")
    text = record["text"]
    assert "".join(s["token"] for s in spans) == text.replace("\n", LINE_BREAK)
    checkpoint = trained_run / "run/checkpoints/best.ckpt"
    model = LitCharRNN.load_from_checkpoint(checkpoint, weights_only=True).eval()
    codes = torch.tensor([[model.vocab.index(c) for c in PROMPT + text]])
    with torch.no_grad():
        logits = model.every_logits(codes)[0, len(PROMPT) - 1 : -1]
    p = tempered_softmax(logits.double(), 0.7)[torch.arange(len(text)), codes[0, len(PROMPT):]].numpy()
    assert np.allclose([1 - s["class_or_confidence"] for s in spans], p, atol=1e-3)


def test_the_distribution_at_a_position_is_the_one_it_was_drawn_from(client):
    record = drawn(client, temperature=2.0, top_k=3, length=40)
    plot, table, about = client.predict(record, 5, api_name="/distribution")
    assert plot["type"] == "matplotlib" and about.startswith("Character 6 of 40")
    assert table["headers"] == ["character", "p at T = 1", "p as drawn"]
    assert sum(row[2] > 0 for row in table["data"]) == 3  # top-k 3: three candidates


def test_an_empty_seed_draws_a_new_text_each_time(client):
    first, second = (drawn(client, seed="", length=80) for _ in range(2))
    assert first["text"] != second["text"]
    assert drawn(client, seed=first["seed"], length=80) == first
    assert write(client, length=20)[-1][1]
