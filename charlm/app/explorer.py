"""What `charlm explore` computes for each of its panels, as plain functions of their inputs.

    Write              prompt + sampling controls -> the text as it grows
    How sure was it?   each written character coloured by the probability it was drawn with; the
                       next-character distribution at one position, at T = 1 and at the chosen T
    Temperature sweep  one text per temperature with its share of recognisable words
    Inside the LSTM    a text coloured by one cell's state; the cells that best follow simple properties
    Training           the run's curves (dvclive/) and the samples it wrote while it trained

charlm.app.page lays these out as a Gradio page; tests call them through the page's own API. Bad
input raises CharlmError with one line saying what to change.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from charlm.app.probe import probabilities, rank_cells, read
from charlm.errors import CharlmError
from charlm.labels import char_label, plain
from charlm.model.checkpoint import TrainedModel
from charlm.params import Controls, checked
from charlm.sample.generate import texts, written
from charlm.sample.prompt import encode_prompt
from charlm.sample.temperature import tempered_softmax
from charlm.sample.words import known_words, word_metrics
from charlm.text.splits import decode, load_text, text_chunks

MAX_LENGTH = 2000  # characters written per request: one request cannot hold the server for long
MAX_PROMPT = 2000  # characters of a prompt
FIRST_PROMPT = "ROMEO:\n"
MAX_TEXT = 10_000  # characters of a text the model reads in one request (a cell's view)
RANK_CHARS = 20_000  # characters of validation text the cell ranking reads
Spans = list[tuple[str, float | None]]  # HighlightedText's value: (text, score in [-1, 1])
LINE_BREAK = "↵"  # how a coloured text shows "\n": the page sets characters side by side


def spans(text: str, scores: Sequence[float]) -> Spans:
    """A text's characters with their scores, as HighlightedText takes them."""
    shown = text.replace("\n", LINE_BREAK)
    return [(ch, round(float(s), 4)) for ch, s in zip(shown, scores, strict=True)]


def check(name: str, value: float, low: float, high: float) -> None:
    if not (isinstance(value, (int, float)) and low <= value <= high):
        raise CharlmError(f"{name} must be from {low:g} to {high:g}, got {str(value)[:20]!r}")


def check_text(name: str, value: str, limit: int) -> None:
    """A text input as the page sends it: a string of at most `limit` characters (the API takes any JSON)."""
    if not isinstance(value, str):
        raise CharlmError(f"{name} must be a text, got {type(value).__name__}")
    if len(value) > limit:
        raise CharlmError(f"{name} is {len(value):,} characters: at most {limit:,} here")


@dataclass
class Explorer:
    """One checkpoint and what the panels read beside it: the prepared data (for the default texts and
    the known words) and the run's DVCLive folder (for the curves)."""

    model: TrainedModel
    data: Path | None = None
    live: Path | None = None

    @functools.cached_property
    def first_prompt(self) -> str:
        """The page's first prompt: a cue from Shakespeare where the model knows its characters, else
        the validation text's first line, else a line break."""
        if set(FIRST_PROMPT) <= set(self.model.vocab):
            return FIRST_PROMPT
        if self.data is not None and (self.data / "val.npy").is_file():
            return load_text(self.data, "val", 200).split("\n")[0][:60] + "\n"
        return "\n" if "\n" in self.model.vocab else self.model.vocab[0]

    def codes(self, prompt: str, drop_unknown: bool, name: str = "prompt",
              limit: int = MAX_PROMPT) -> torch.Tensor:
        check_text(name, prompt, limit)
        return encode_prompt(prompt, self.model.vocab, skip=drop_unknown,
                             remedy="remove them, or tick 'drop characters the model does not know'")

    def write(self, prompt: str, temperature: float, top_k: int, top_p: float, length: int, seed: int,
              drop_unknown: bool) -> Iterator[tuple[str, str]]:
        """(prompt and text so far, text so far) as the text is generated."""
        check("length", length, 1, MAX_LENGTH)
        controls = checked(Controls, {"temperatures": [temperature], "top_k": top_k, "top_p": top_p,
                                      "length": length, "seed": seed})
        codes = self.codes(prompt, drop_unknown)
        shown = decode(codes, self.model.vocab)
        text = ""
        for _, piece in texts(self.model, codes, controls):
            text += piece
            yield shown + text, text

    def sure(self, prompt: str, text: str, temperature: float, drop_unknown: bool) -> Spans:
        """Each character of `text` (written after `prompt`) with 1 - its probability as the score: the
        redder, the less the model expected it."""
        return spans(text, 1.0 - self.chosen(prompt, text, temperature, drop_unknown))

    def chosen(self, prompt: str, text: str, temperature: float, drop_unknown: bool) -> np.ndarray:
        """The probability each character of `text` had when it was drawn (tempered_softmax at T)."""
        checked(Controls, {"temperatures": [temperature]})
        if not text:
            raise CharlmError("nothing written yet: generate a text first")
        codes = self.codes(text, False, "text", MAX_LENGTH)
        dist = probabilities(self.model, self.codes(prompt, drop_unknown), codes, temperature)
        return dist[np.arange(len(codes)), codes.numpy()]

    def distribution(self, prompt: str, text: str, temperature: float, drop_unknown: bool,
                     position: int) -> tuple[Figure, pd.DataFrame]:
        """The next-character distribution before character `position` of `text`, at T = 1 and at T."""
        check_text("text", text, MAX_LENGTH)
        check("position", position, 0, max(0, len(text) - 1))
        text_codes = self.codes(text, False, "text", MAX_LENGTH).tolist()
        codes = self.codes(prompt, drop_unknown).tolist() + text_codes[: int(position)]
        logits = torch.from_numpy(read(self.model, codes)[1][-1]).double()
        return distribution_plot(logits, temperature, self.model.vocab, text[int(position)])

    @functools.cached_property
    def known(self) -> set[str] | None:
        """The words of the training text, if the prepared data is there."""
        if self.data is None or not (self.data / "train.npy").is_file():
            return None
        return known_words(text_chunks(self.data, "train"))

    def sweep(self, prompt: str, temperatures: str, length: int, seed: int,
              drop_unknown: bool) -> pd.DataFrame:
        """One text per temperature (written as "0.2, 0.5, 1"), with its share of recognisable words."""
        check_text("temperatures", temperatures, 200)
        try:
            ts = [float(t) for t in temperatures.replace(",", " ").split()]
        except ValueError:
            raise CharlmError(f"temperatures must be numbers separated by commas, got"
                              f" {temperatures!r}") from None
        if not ts or len(ts) > 12:
            raise CharlmError("give 1 to 12 temperatures, separated by commas")
        check("length", length, 1, MAX_LENGTH)
        controls = checked(Controls, {"temperatures": ts, "length": length, "seed": seed})
        codes = self.codes(prompt, drop_unknown)
        shown = decode(codes, self.model.vocab)
        rows = []
        for t, (text,) in zip(ts, written(self.model, codes, controls), strict=True):
            metrics = word_metrics(text, self.known, shown) if self.known is not None else {}
            rows.append({"T": t, "recognisable words": metrics.get("recognisable_words"),
                         "distinct bigrams": metrics.get("distinct_bigrams"), "text": shown + text})
        return pd.DataFrame(rows)

    def default_text(self, chars: int = 1500) -> str:
        """A stretch of the validation text (or of a generated one, without prepared data)."""
        if self.data is not None and (self.data / "val.npy").is_file():
            return load_text(self.data, "val", chars)
        return written(self.model, [0], Controls(temperatures=[0.8], length=chars))[0][0]

    def cell(self, text: str, layer: int, cell: int) -> Spans:
        """`text` coloured by one cell's state after each character, squashed to [-1, 1] by tanh."""
        check("layer", layer, 1, self.model.hparams.num_layers)
        check("cell", cell, 0, self.model.hparams.hidden_size - 1)
        check_text("text", text, MAX_TEXT)
        if not text:
            raise CharlmError("give a text to read")
        cells, _ = read(self.model, self.codes(text, False, "text", MAX_TEXT))
        return spans(text, np.tanh(cells[:, int(layer) - 1, int(cell)]))

    @functools.cached_property
    def ranking(self) -> pd.DataFrame:
        """The cells that best follow each property over the validation text: computed once."""
        text = self.default_text(RANK_CHARS)
        return rank_cells(read(self.model, self.codes(text, False))[0], text, top=3)

    def training(self) -> tuple[Figure | None, str]:
        """The run's curves and the samples it wrote at each validation, if its dvclive/ is there."""
        if self.live is None or not (self.live / "plots/metrics/val/loss.tsv").is_file():
            return None, "No training curves here: run `make run` (they are in dvclive/ afterwards)."
        samples = self.live / "samples.md"
        text = samples.read_text(encoding="utf-8") if samples.is_file() else "No samples were written."
        return curves_plot(self.live), text


def distribution_plot(logits: torch.Tensor, temperature: float, vocab: Sequence[str],
                      actual: str, top: int = 12) -> tuple[Figure, pd.DataFrame]:
    """Bars of the likeliest next characters at T = 1 and at T, and the table of them."""
    at_1 = tempered_softmax(logits, 1.0)
    at_t = tempered_softmax(logits, temperature)
    order = at_1.argsort(descending=True)[:top].tolist()
    labels = [char_label(vocab[i]) for i in order]
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    x = np.arange(len(order))
    ax.bar(x - 0.2, at_1[order].numpy(), 0.4, label="T = 1")
    ax.bar(x + 0.2, at_t[order].numpy(), 0.4, label=f"T = {temperature:g}")
    ax.set_xticks(x, [plain(label) for label in labels])
    title = plain(f"Before {char_label(actual)!r}: the likeliest next")
    ax.set(ylabel="probability", ylim=(0, 1), title=title)
    ax.legend()
    table = pd.DataFrame({"character": labels, "p at T = 1": at_1[order].numpy().round(4),
                          f"p at T = {temperature:g}": at_t[order].numpy().round(4)})
    return fig, table


def curves_plot(live: Path) -> Figure:
    """Loss and learning rate by optimiser step, from DVCLive's TSV files."""
    fig = Figure(figsize=(9, 3.5))
    loss_ax, lr_ax = fig.subplots(1, 2)
    for split in ("train", "val"):
        path = live / f"plots/metrics/{split}/loss.tsv"
        if path.is_file():
            curve = pd.read_csv(path, sep="\t")
            loss_ax.plot(curve["step"], curve["loss"], "o-" if split == "val" else "-", ms=3, label=split)
    loss_ax.set(xlabel="step", ylabel="cross-entropy (nats/char)", title="Loss")
    loss_ax.legend()
    for path in sorted((live / "plots/metrics").glob("lr-*/weights.tsv")):
        curve = pd.read_csv(path, sep="\t")
        lr_ax.plot(curve["step"], curve["weights"])
    lr_ax.set(xlabel="step", ylabel="learning rate", title="Learning rate")
    return fig
