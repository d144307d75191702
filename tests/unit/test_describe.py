"""What a key accepts, in words, derived from its type and bounds (or said where they cannot say it)."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from charlm.params.describe import Accepts, accepts


class Example(BaseModel):
    count: Annotated[int, Field(ge=1, le=10**6)]
    open_count: Annotated[int, Field(ge=0)]
    exclusive: Annotated[int, Field(gt=0, lt=10)]
    share: Annotated[float, Field(gt=0, lt=1)]
    rate: Annotated[float, Field(gt=0, le=0.5)]
    floor: Annotated[float, Field(ge=2)]
    cap: Annotated[int, Field(ge=1)] | None
    mode: Literal["a", "b", "c"]
    only: Literal["auto"] | Annotated[int, Field(ge=1, le=8)]
    flag: bool
    name: str
    short: Annotated[str, Field(max_length=10)]
    said: Annotated[list[float], Accepts("a list of shares")]


@pytest.mark.parametrize("key, words", [
    ("count", "an integer from 1 to 1,000,000"), ("open_count", "an integer >= 0"),
    ("exclusive", "an integer from 1 to 9"), ("share", "a number with 0 < share < 1"),
    ("rate", "a number with 0 < rate <= 0.5"), ("floor", "a number >= 2"),
    ("cap", "null or an integer >= 1"), ("mode", "a, b or c"), ("only", "auto or an integer from 1 to 8"),
    ("flag", "true or false"), ("name", "a string"), ("short", "a string of at most 10 characters"),
    ("said", "a list of shares"),
])
def test_what_a_key_accepts_reads_as_its_bounds(key, words):
    assert accepts(Example, key) == words
