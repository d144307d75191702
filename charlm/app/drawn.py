"""A written text and what it was drawn with: the prompt the model read, the text, its temperature,
top-k, top-p and seed. The Write panel hands this record to "How sure was it?", which colours the
text by the distribution each character was actually drawn from, whatever the controls say now.

    Write -> Drawn.json() (a hidden field of the page) -> Drawn.read() -> How sure was it?
                                                        -> the earlier texts, side by side
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import Any

from charlm.app.bounds import MAX_LENGTH, MAX_PROMPT, check_text
from charlm.errors import CharlmError
from charlm.params import Controls, checked

FIELDS = ("prompt", "text", "temperature", "top_k", "top_p", "seed")
CHECKPOINT, ADAPTED = "the checkpoint", "the adapted copy"  # the models a text may be written by


@dataclass(frozen=True)
class Drawn:
    """`text`, written after `prompt` with these sampling controls."""

    prompt: str
    text: str
    temperature: float
    top_k: int
    top_p: float
    seed: int
    model: str = CHECKPOINT

    @classmethod
    def read(cls, value: Any) -> Drawn:
        """The record as the page (or any API client) sends it back, checked like the controls."""
        if not value:
            raise CharlmError("nothing written yet: generate a text first")
        if not isinstance(value, dict) or set(value) - {"model"} != set(FIELDS) \
                or value.get("model", CHECKPOINT) not in (CHECKPOINT, ADAPTED):
            raise CharlmError(f"a written text is a record of {', '.join(FIELDS)} (and the model:"
                              f" {CHECKPOINT!r} or {ADAPTED!r})")
        check_text("prompt", value["prompt"], MAX_PROMPT)
        check_text("text", value["text"], MAX_LENGTH)
        if not value["text"]:
            raise CharlmError("nothing written yet: generate a text first")
        controls = checked(Controls, {"temperatures": [value["temperature"]], "top_k": value["top_k"],
                                      "top_p": value["top_p"], "seed": value["seed"]})
        return cls(value["prompt"], value["text"], controls.temperatures[0], controls.top_k, controls.top_p,
                   controls.seed, value.get("model", CHECKPOINT))

    def json(self) -> dict[str, Any]:
        return asdict(self)

    def how(self) -> str:
        """The controls that shaped the distribution, briefly: "T = 0.8, top-k 5"."""
        return (f"T = {self.temperature:g}" + (f", top-k {self.top_k}" if self.top_k else "")
                + (f", top-p {self.top_p:g}" if self.top_p < 1 else ""))

    @property
    def greedy(self) -> bool:
        """Always the likeliest character: the seed decides nothing."""
        return self.temperature == 0 or self.top_k == 1

    def settings(self) -> str:
        """The controls in words, as the page shows them under the text."""
        by = "" if self.model == CHECKPOINT else f" by {self.model}"
        if self.greedy:
            return (f"Written greedily{by} (always the likeliest character: {self.how()}): {len(self.text)}"
                    " characters, the same for every seed")
        top_k = f"top-k {self.top_k}" if self.top_k else "top-k off (all characters)"
        top_p = f"top-p {self.top_p:g}" if self.top_p < 1 else "top-p off (1)"
        return (f"Written{by} at temperature {self.temperature:g}, {top_k}, {top_p}: {len(self.text)}"
                f" characters, seed **{self.seed}** (type it in the seed box to write this text again)")

    def label(self) -> str:
        """The settings in a few words, above the text when it is shown beside others."""
        return (self.how() + ("" if self.greedy else f", seed {self.seed}")
                + ("" if self.model == CHECKPOINT else f" ({self.model})"))


def written_view(prompt: str, text: str) -> str:
    """The prompt and the text as HTML, the prompt marked apart (the page's CSS greys it)."""
    return (f'<div class="written"><span class="prompt" title="your prompt">{html.escape(prompt)}</span>'
            f'<span class="generated">{html.escape(text)}</span></div>')


def earlier_view(records: list[dict[str, Any]]) -> str:
    """The texts written before the last, side by side, newest first, each under its settings."""
    if not records:
        return ""
    shown = [Drawn.read(r) for r in records]
    return '<div class="earlier">' + "".join(
        f'<figure><figcaption>{html.escape(d.label())}</figcaption>{written_view(d.prompt, d.text)}</figure>'
        for d in shown) + "</div>"
