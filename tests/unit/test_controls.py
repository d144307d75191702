"""The sampling controls: one set of bounds for the sample stage, `charlm generate`, the explorer and the
notebook, each refusal one line naming the control."""

from __future__ import annotations

import pytest

from charlm.errors import CharlmError
from charlm.params import Controls, SampleParams, checked
from tests.helpers.config import tiny


def test_the_defaults_are_one_text_of_500_characters():
    assert Controls(temperatures=[0.8]).model_dump() == {"temperatures": [0.8], "top_k": 0, "top_p": 1.0,
                                                          "length": 500, "count": 1, "seed": 0}


@pytest.mark.parametrize("values, message", [
    ({"temperatures": []}, "temperatures=[] is invalid; expected 1 to 100 numbers from 0"),
    ({"temperatures": [-1]}, "temperatures=[-1] is invalid"),
    ({"temperatures": [101]}, "temperatures=[101] is invalid"),
    ({"temperatures": [1], "top_p": 0}, "top_p=0 is invalid; expected a number with 0 < top_p <= 1"),
    ({"temperatures": [1], "top_k": 10**20}, "top_k=100000000000000000000 is invalid; expected an integer"),
    ({"temperatures": [1], "length": 0}, "length=0 is invalid; expected an integer from 1 to 1,000,000"),
    ({"temperatures": [1], "seed": 2**32}, "seed=4294967296 is invalid"),
    ({"temperatures": [1] * 10, "length": 10**6, "count": 100},
     "is 1,000,000,000 characters, over 100,000,000"),
], ids=["none", "negative", "too-hot", "top-p", "top-k", "length", "seed", "too-much-text"])
def test_out_of_bounds_is_one_line_naming_the_control(values, message):
    with pytest.raises(CharlmError, match=message.replace("[", r"\[").replace("]", r"\]")) as error:
        checked(Controls, values, "charlm generate: ")
    assert "\n" not in str(error.value)


def test_a_whole_number_from_a_slider_counts_as_an_integer():
    """A page's slider sends 5.0 for 5."""
    assert checked(Controls, {"temperatures": [1], "top_k": 5.0, "length": 20.0}).top_k == 5


def test_the_sample_stage_s_controls_are_its_params_and_the_seed():
    sample = tiny("sample")
    assert isinstance(sample, SampleParams)
    controls = sample.controls(7)
    assert (controls.temperatures, controls.length, controls.count, controls.seed) == \
        (sample.temperatures, sample.length, sample.count, 7)
