"""Inside the LSTM and Training through the page's API: what each shows when it opens."""

from __future__ import annotations

import pytest
from gradio_client import Client


@pytest.fixture(scope="module")
def client(explorer_page: str):
    return Client(explorer_page, verbose=False)


def test_inside_the_lstm_opens_on_a_ranked_cell(client):
    layer, cell, spans, table, about = client.predict("KING:\nthe king", None, api_name="/open_cells")
    assert "".join(s["token"] for s in spans) == "KING:↵the king"
    assert table["headers"] == ["property", "layer", "cell", "r", "the character alone", "remembers more"]
    speakers = [row for row in table["data"] if row[0] == "in a speaker's name"]
    assert [layer, cell] == (speakers or table["data"])[0][1:3]
    assert about.startswith(f"Layer {layer}, cell {cell}")
    coloured = client.predict("the king", 1, 3, api_name="/cell")
    assert all(-1 <= s["class_or_confidence"] <= 1 for s in coloured)


def test_a_cell_out_of_range_is_a_message(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="cell must be from 0 to"):
        client.predict("the king", 1, 10_000, api_name="/cell")


def test_the_training_panel_shows_the_curves_and_folded_samples(client):
    plot, samples = client.predict("", api_name="/training")
    assert plot["type"] == "matplotlib"
    assert samples.count("<details") == 6 and "val_loss" in samples  # one sample per validation (6 epochs)
