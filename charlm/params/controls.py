"""How texts are drawn, wherever they are asked for: the sampling controls and their one set of bounds.

The sample stage reads them from params.yaml (charlm.params.schema's SampleParams, built from the
same types), `charlm generate` from its options, `charlm explore` from its page, the notebook from
its cells; all check them here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from charlm.errors import CharlmError
from charlm.params.describe import Accepts

MAX_SEED = 2**32 - 1  # numpy's seeds are 32 bits
MAX_SAMPLE_CHARS = 10**8  # characters of samples one request holds and writes at most
MAX_VOCAB = 65_536  # characters a vocabulary may have: far more than any book holds
MAX_TEMPERATURE = 100.0  # far past where text is noise (the exercise sweeps to 2); bounds 1/T's precision
MAX_TEMPERATURES = 100  # a sweep's temperatures at most: each writes its own file and plot point


def _distinct(ts: list[float]) -> list[float]:
    """Distinct as printed (`T{t:g}` names a result) and as numbers (0.0 and -0.0 are one)."""
    if len({f"{abs(t):g}" for t in ts}) != len(ts) or any(t < 0 for t in ts):
        raise ValueError("repeated or negative")
    return ts


Temperature = Annotated[float, Field(ge=0, le=MAX_TEMPERATURE)]
Temperatures = Annotated[
    list[Temperature], Field(min_length=1, max_length=MAX_TEMPERATURES), AfterValidator(_distinct),
    Accepts(f"1 to {MAX_TEMPERATURES} numbers from 0 (greedy) to {MAX_TEMPERATURE:g} that differ in their"
            " first 6 digits"),
]
TopK = Annotated[int, Field(ge=0, le=MAX_VOCAB)]
TopP = Annotated[float, Field(gt=0, le=1)]
Length = Annotated[int, Field(ge=1, le=10**6)]
Count = Annotated[int, Field(ge=1, le=10**4)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


def check_output(chars: int, remedy: str) -> None:
    if chars > MAX_SAMPLE_CHARS:
        raise CharlmError(f"count x length x temperatures is {chars:,} characters, over {MAX_SAMPLE_CHARS:,}:"
                          f" lower {remedy}")


class Controls(BaseModel):
    """How texts are drawn, wherever they are asked for (the sample stage, `charlm generate`, `charlm
    explore`, the notebook): `count` texts of `length` characters per temperature, each character drawn
    from the tempered softmax restricted to the top_k likeliest (0: all) and to the fewest whose
    probabilities reach top_p (1: all), from random streams seeded by `seed`. One set of bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    temperatures: Annotated[list[Temperature], Field(min_length=1, max_length=MAX_TEMPERATURES), Accepts(
        f"1 to {MAX_TEMPERATURES} numbers from 0 (greedy) to {MAX_TEMPERATURE:g}")]
    top_k: TopK = 0
    top_p: TopP = 1.0
    length: Length = 500
    count: Count = 1
    seed: Seed = 0

    @model_validator(mode="after")
    def _bounded_output(self) -> Controls:
        check_output(self.count * self.length * len(self.temperatures), "count, length or temperatures")
        return self
