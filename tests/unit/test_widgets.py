"""What the panels share: bad input as a message, a slider that says no."""

from __future__ import annotations

import gradio as gr
import pytest

from charlm.app.widgets import SCRIPT, once, slider
from charlm.errors import CharlmError


def test_a_slider_refuses_out_of_range_without_a_traceback():
    with gr.Blocks():
        made = slider(0, 5, value=1)
    assert made.preprocess(2.5) == 2.5
    with pytest.raises(gr.Error, match="greater than maximum value 5") as refused:
        made.preprocess(7)
    assert refused.value.print_exception is False


def test_a_charlm_error_is_a_message():
    def bad() -> None:
        raise CharlmError("give a text to read")

    with pytest.raises(gr.Error, match="give a text to read"):
        once(bad)()


def test_the_script_refuses_typed_values_and_marks_clicks():
    assert "is refused, it goes from" in SCRIPT and "data-marked" in SCRIPT
