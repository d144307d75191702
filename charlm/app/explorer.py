"""What `charlm explore` computes for each of its panels, as plain functions of their inputs.

    Write              prompt + sampling controls (a random seed unless one is given) -> the text as it
                       grows, its settings, and the record of how it was drawn (charlm.app.drawn)
    How sure was it?   that record -> each character coloured by the probability it was drawn with; the
                       distribution at one position, the model's own and the one it was drawn from
    Temperature sweep  the sample stage's answer for one prompt: texts at each temperature, the share of
                       recognisable words with its band, the crossing with its interval, the chance level
    Inside the LSTM    a text coloured by one cell's state; the cells that follow simple properties,
                       chosen and measured on different halves of the text (charlm.app.cells)
    Adapt              a pasted text read once by a copy that learns as it reads (charlm.evaluate.adapt):
                       its loss on its end, set aside, before and after, and while reading; a text by
                       the checkpoint and by the copy; the copy, which Write, How sure and the sweep
                       may then use
    Training           the run's curves (dvclive/) and the samples it wrote while it trained, folded

charlm.app.page lays these out as a Gradio page; tests call them through the page's own API. Bad
input raises CharlmError with one line saying what to change.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from charlm.app.bounds import MAX_LENGTH, MAX_PROMPT, MAX_TEXT, check, check_text, seed_of
from charlm.app.cells import BASELINE, best_cell, rank_cells
from charlm.app.drawn import ADAPTED, CHECKPOINT, Drawn, written_view
from charlm.app.probe import drawn_from, probabilities, read
from charlm.app.sweeping import rows, texts_view
from charlm.app.turns import abandoned
from charlm.app.views import curves_plot, distribution_plot, folded_samples
from charlm.errors import CharlmError
from charlm.evaluate.adapt import Adapted, adapt, project_reading, text_codes, validation_codes
from charlm.labels import char_name
from charlm.model.checkpoint import Checkpoint, TrainedModel
from charlm.params import Controls, checked
from charlm.sample.generate import texts, written
from charlm.sample.prompt import encode_prompt
from charlm.sample.sweep import Rules, figure, sweep
from charlm.sample.words import known_words
from charlm.text.splits import decode, load_split, load_text, text_chunks

__all__ = ["MAX_LENGTH", "MAX_PROMPT", "MAX_TEXT", "LINE_BREAK", "Explorer", "spans"]
FIRST_PROMPT = "ROMEO:\n"
RANK_CHARS = 20_000  # characters of validation text the cell ranking reads (half chooses, half measures)
MAX_SWEEP_TEXTS = 20  # texts per temperature in the sweep: 12 temperatures x 20 x 1,000 characters at most
MAX_SWEEP_LENGTH = 1000
MIN_LETTERS, THRESHOLD, REFINE = 3, 0.5, 3  # the sweep's rules: params.yaml's defaults for the sample stage
MAX_ADAPT_TEXT = 50_000  # characters of a text to adapt to: a chapter
MAX_ADAPT_SECONDS = 60  # one request adapts for at most this long
MAX_ADAPT_TEMPERATURE = 2.0  # the adapted model writes to be compared with the model before: readable text
ADAPT_WRITES = 400  # characters each model writes after adapting
SEEDS = 1_000_000  # a random seed is drawn below this: short enough to type again
Spans = list[tuple[str, float | None]]  # HighlightedText's value: (text, score in [-1, 1])
LINE_BREAK = "↵"  # how a coloured text shows "\n": a mark to colour; the page breaks the line after it


def spans(text: str, scores: Sequence[float]) -> Spans:
    """A text's characters with their scores, as HighlightedText takes them."""
    return [(LINE_BREAK if ch == "\n" else ch, round(float(s), 4))
            for ch, s in zip(text, scores, strict=True)]


NATS = ("A loss in **nats per character** is the average of -ln p, p the probability the model gave each"
        " next character: 0 would be a model sure of every one, and lower is better. Divided by ln 2 it is"
        " in **bits per character**: how many yes-or-no questions each character costs on average.")


def loss_table(a: Adapted, segment: int) -> str:
    """The three losses of an adapting as a table with a heading and a sentence each."""
    cells = [(a.before, f"the trained weights on the {a.checked + 1:,} characters set aside"),
             (a.online, f"each stretch of {segment} characters scored just before it was learnt from"),
             (a.after, "the adapted weights on the same characters set aside")]
    return ("| | before | while reading | after |\n|---|---|---|---|\n"
            "| nats per character | " + " | ".join(f"**{loss:.3f}**" for loss, _ in cells) + " |\n"
            "| bits per character | " + " | ".join(f"{loss / math.log(2):.3f}" for loss, _ in cells) + " |\n"
            "| scored | " + " | ".join(what for _, what in cells) + " |")


def random_seed() -> int:
    """A fresh seed for a text nobody asked to repeat: Generate twice, two texts."""
    return int(np.random.default_rng().integers(SEEDS))


@dataclass
class Explorer:
    """One checkpoint and what the panels read beside it: the prepared data (for the default texts and
    the known words), the run's DVCLive folder (for the curves) and the evaluate stage's metrics (how
    Adapt reads)."""

    model: TrainedModel
    data: Path | None = None
    live: Path | None = None
    metrics: Path | None = None  # the evaluate stage's metrics, when the model is the pipeline's

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

    def write(self, prompt: str, temperature: float, top_k: int, top_p: float, length: int,
              seed: int | str | None, drop_unknown: bool,
              copy: Checkpoint | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(the prompt and the text so far, the prompt marked apart; the settings in words; the record of
        how it was drawn) as the text is generated, by the page's adapted `copy` if it uses one. No seed
        (None, ""): a random one, shown with it."""
        check("length", length, 1, MAX_LENGTH)
        seed = seed_of(seed)
        controls = checked(Controls, {"temperatures": [temperature], "top_k": top_k, "top_p": top_p,
                                      "length": length, "seed": random_seed() if seed is None else seed})
        codes = self.codes(prompt, drop_unknown)
        shown = decode(codes, self.model.vocab)
        text = ""
        for _, piece in texts(copy or self.model, codes, controls):
            text += piece
            drawn = Drawn(shown, text, controls.temperatures[0], controls.top_k, controls.top_p,
                          controls.seed, CHECKPOINT if copy is None else ADAPTED)
            yield written_view(shown, text), drawn.settings(), drawn.json()

    def writer(self, record: Drawn, copy: Checkpoint | None) -> TrainedModel:
        """The model that wrote `record`: the checkpoint, or the page's adapted copy."""
        if record.model == CHECKPOINT:
            return self.model
        if copy is None:
            raise CharlmError("this text was written by the adapted copy, which the page no longer writes"
                              " with: write it again")
        return copy

    def sure(self, drawn: dict[str, Any], copy: Checkpoint | None = None) -> Spans:
        """Each character of a written text with 1 - the probability it was drawn with as the score: the
        redder, the less the model that wrote it expected it."""
        record = Drawn.read(drawn)
        return spans(record.text, 1.0 - self.chosen(record, copy))

    def chosen(self, record: Drawn, copy: Checkpoint | None) -> np.ndarray:
        """The probability each character of the text had in the distribution it was drawn from."""
        codes = self.codes(record.text, False, "text", MAX_LENGTH)
        dist = probabilities(self.writer(record, copy), self.codes(record.prompt, False), codes,
                             record.temperature, record.top_k, record.top_p)
        return dist[np.arange(len(codes)), codes.numpy()]

    def distribution(self, drawn: dict[str, Any], position: int,
                     copy: Checkpoint | None = None) -> tuple[Figure, pd.DataFrame, str]:
        """Before character `position` of a written text: the model's distribution at T = 1 and the one
        the character was drawn from, as bars and a table, and a sentence about the character."""
        record = Drawn.read(drawn)
        check("position", position, 0, len(record.text) - 1)
        position = int(position)
        text_codes = self.codes(record.text, False, "text", MAX_LENGTH).tolist()
        codes = self.codes(record.prompt, False).tolist() + text_codes[:position]
        logits = read(self.writer(record, copy), codes)[1][-1:]
        at_1 = drawn_from(logits, 1.0)[0]
        dist = drawn_from(logits, record.temperature, record.top_k, record.top_p)[0]
        actual = text_codes[position]
        fig, table = distribution_plot(at_1, dist, record.how(), self.model.vocab, actual)
        likeliest = int(np.argmax(dist))
        about = (f"Character {position + 1} of {len(record.text)}, {char_name(record.text[position])}: drawn"
                 f" with p = {dist[actual]:.3f} ({record.how()}); the likeliest was"
                 f" {char_name(self.model.vocab[likeliest])} (p = {dist[likeliest]:.3f}).")
        return fig, table, about

    @functools.cached_property
    def known(self) -> set[str] | None:
        """The words of the training text, if the prepared data is there."""
        if self.data is None or not (self.data / "train.npy").is_file():
            return None
        return known_words(text_chunks(self.data, "train"))

    @functools.cached_property
    def frequencies(self) -> np.ndarray | None:
        """How often each character occurs in the training text: the chance level's letters."""
        if self.data is None or not (self.data / "train.npy").is_file():
            return None
        return np.bincount(load_split(self.data, "train").numpy(), minlength=len(self.model.vocab))

    def sweep(self, prompt: str, temperatures: str, count: int, length: int, seed: int,
              drop_unknown: bool, copy: Checkpoint | None = None) -> tuple[str, Figure, pd.DataFrame, str]:
        """The sample stage's answer for this prompt (temperatures written as "0.2, 0.5, 1") by the
        checkpoint, or the page's adapted `copy`: the sentence, the figure, a row per temperature and the
        texts."""
        check_text("temperatures", temperatures, 200)
        try:
            ts = [float(t) for t in temperatures.replace(",", " ").split()]
        except ValueError:
            raise CharlmError(f"temperatures must be numbers separated by commas, got"
                              f" {temperatures!r}") from None
        if not ts or len(ts) > 12:
            raise CharlmError("give 1 to 12 temperatures, separated by commas")
        check("texts per temperature", count, 1, MAX_SWEEP_TEXTS)
        check("characters per text", length, 1, MAX_SWEEP_LENGTH)
        if self.known is None:
            raise CharlmError("the sweep needs the training text's words: pass --data with the prepared data")
        controls = checked(Controls, {"temperatures": ts, "count": count, "length": length, "seed": seed})
        codes = self.codes(prompt, drop_unknown)
        result = sweep(copy or self.model, codes, controls, Rules(self.known, MIN_LETTERS, THRESHOLD), REFINE,
                       self.frequencies)
        shown = decode(codes, self.model.vocab)
        return result.sentence(), figure(result), rows(result), texts_view(result, shown)

    def adapt(self, text: str, seconds: float, prompt: str, temperature: float,
              seed: int | str | None) -> tuple[str, str, str, Checkpoint]:
        """The model adapted to `text` for about `seconds` (a copy: the checkpoint stays as it was): what
        the text's loss did, a text from the same prompt and seed by the model before and after, and the
        adapted copy."""
        check_text("text", text, MAX_ADAPT_TEXT)
        check("seconds", seconds, 1, MAX_ADAPT_SECONDS)
        check("temperature", temperature, 0, MAX_ADAPT_TEMPERATURE)
        text_codes_, unknown = text_codes(text, self.model.vocab, "the text")
        seed = seed_of(seed)
        controls = checked(Controls, {"temperatures": [temperature], "length": ADAPT_WRITES,
                                      "seed": random_seed() if seed is None else seed})
        codes = self.codes(prompt, True)
        how = project_reading(self.metrics)
        adapted = adapt(self.model, text_codes_, seconds, how, validation_codes(self.data, self.model.vocab),
                        abandoned)
        shown = decode(codes, self.model.vocab)
        left_out = f" Left out, as the model does not know them: {unknown!r}." if unknown else ""
        summary = (f"Read {adapted.chars:,} characters in {adapted.seconds:g} s, learning as it read; the"
                   f" last {adapted.checked + 1:,} characters of the text were set aside, never learnt from,"
                   f" to score it on.{left_out}\n\n{loss_table(adapted, how.segment)}\n\n{NATS}\n\nBoth texts"
                   f" below: seed {controls.seed}, temperature {temperature:g}. The checkpoint is unchanged.")
        return (summary, *(written_view(shown, written(m, codes, controls)[0][0])
                           for m in (self.model, adapted.model)), adapted.model)

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
        """The cells that best follow each property of the validation text: computed once."""
        text = self.default_text(RANK_CHARS)
        return rank_cells(read(self.model, self.codes(text, False, "text", RANK_CHARS))[0], text, top=3)

    def about_cell(self, layer: int, cell: int) -> str:
        """What the ranking says of one cell: the properties it follows, with r and the baseline."""
        rows = self.ranking[(self.ranking["layer"] == layer) & (self.ranking["cell"] == cell)]
        found = [f"\"{row.property}\" with r = {row.r:.2f} (the character alone: {row[BASELINE]:.2f})"
                 for _, row in rows.iterrows()]
        return f"Layer {layer}, cell {cell}" + (": follows " + "; ".join(found) if found else "") + "."

    def opening_cell(self, text: str) -> tuple[int, int, Spans, pd.DataFrame, str]:
        """The panel as it opens: the best cell for speakers' names on `text`, the ranking, a sentence."""
        layer, cell = best_cell(self.ranking)
        return layer, cell, self.cell(text, layer, cell), self.ranking, self.about_cell(layer, cell)

    def training(self) -> tuple[Figure | None, str]:
        """The run's curves and the samples it wrote at each validation (HTML, folded), if its dvclive/
        is there."""
        if self.live is None or not (self.live / "plots/metrics/val/loss.tsv").is_file():
            return None, ("<p>No training curves here: run <code>make run</code> (they are in dvclive/"
                          " afterwards).</p>")
        samples = self.live / "samples.md"
        if not samples.is_file():
            return curves_plot(self.live), "<p>No samples were written.</p>"
        return curves_plot(self.live), folded_samples(samples.read_text(encoding="utf-8"))
