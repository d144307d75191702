"""The exercise's answer, as the sample stage and `charlm explore` both compute it.

    texts at each grid temperature (controls.count each, text i from random stream i at every T)
    -> the share of recognisable words per temperature (charlm.sample.words)
    -> `refine` more temperatures between the two grid points around the crossing, their texts too
    -> the crossing, interpolated in log T, with its bootstrap interval (charlm.sample.crossing)
    -> the chance level: the same share for text drawn from the training text's character
       frequencies alone (an order-0 model), which knows letters but no words

The share falls with temperature from near 1 toward the chance level; the crossing is where it
passes the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from charlm.model.checkpoint import TrainedModel
from charlm.params.controls import Controls
from charlm.sample.crossing import LEVEL, NO_INTERVAL, Crossing, band, crossing, pooled, refinement
from charlm.sample.generate import Prompt, written
from charlm.sample.words import Counts, counts, pooled_metrics
from charlm.text.splits import decode

CHANCE_CHARS = 200_000  # characters of order-0 text: the chance level's standard error is about 0.001


@dataclass(frozen=True)
class Rules:
    """How words are judged: the training text's words, the shortest word scored, the threshold."""

    known: set[str]
    min_letters: int
    threshold: float


@dataclass
class Sweep:
    """Texts by temperature (grid first, then the refined ones), a row per temperature, the crossing, the
    first grid temperature below the threshold, and the chance level."""

    texts: dict[float, list[str]]
    table: pd.DataFrame
    crossing: Crossing
    grid_point: float | None
    chance: float | None
    threshold: float
    min_letters: int

    def sentence(self) -> str:
        """The answer in words, as the explorer shows it."""
        c = self.crossing
        if c.at is None:
            return c.note[0].upper() + c.note[1:] + "."
        interval = NO_INTERVAL if NO_INTERVAL in c.note else \
            f"{LEVEL:.0%} interval over these texts {bound(c.low, '<')} to {bound(c.high, '>')}"
        chance = "" if self.chance is None else f" Letter frequencies alone score {self.chance:.3f}."
        return (f"Words stop being recognisable from T ≈ {c.at:.2f} ({interval}): there the share of words"
                f" the training text has falls below {self.threshold:g}.{chance}")


def bound(value: float | None, side: str) -> str:
    return f"{value:.2f}" if value is not None else f"{side} the grid"


def sweep(model: TrainedModel, prompt: Prompt, controls: Controls, rules: Rules,
          refine: int = 0, frequencies: np.ndarray | None = None) -> Sweep:
    """The answer for `model` continuing `prompt`; the chance level where character `frequencies`
    (counts per code of the training text) are given."""
    text = decode(prompt, model.vocab)
    texts = dict(zip(controls.temperatures, written(model, prompt, controls), strict=True))
    each = {t: [counts(s, rules.known, text, rules.min_letters) for s in ts] for t, ts in texts.items()}
    grid = sorted(each)
    extra = refinement(np.array(grid), shares(each, grid), rules.threshold, refine)
    extra = [t for t in extra if t not in each]
    if extra:
        more = controls.model_copy(update={"temperatures": extra})
        for t, ts in zip(extra, written(model, prompt, more), strict=True):
            texts[t] = ts
            each[t] = [counts(s, rules.known, text, rules.min_letters) for s in ts]
    ts = sorted(each)
    found, words = arrays(each, ts)
    below = [t for t, s in zip(grid, shares(each, grid), strict=True) if s < rules.threshold]
    return Sweep(texts, table(each, set(extra), controls.seed),
                 crossing(np.array(ts), found, words, rules.threshold, controls.seed),
                 below[0] if below else None, chance_level(frequencies, model.vocab, controls, rules),
                 rules.threshold, rules.min_letters)


def arrays(each: dict[float, list[Counts]], ts: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(found, words), each (temperatures, texts)."""
    return (np.array([[c.found for c in each[t]] for t in ts]),
            np.array([[c.words for c in each[t]] for t in ts]))


def shares(each: dict[float, list[Counts]], ts: Sequence[float]) -> np.ndarray:
    return pooled(*arrays(each, ts))


def table(each: dict[float, list[Counts]], refined: set[float], seed: int) -> pd.DataFrame:
    """A row per temperature, ascending: its word metrics pooled over its texts, and the bootstrap band
    of its share of recognisable words."""
    ts = sorted(each)
    low, high = band(*arrays(each, ts), seed)
    return pd.DataFrame([{"temperature": t, "refined": t in refined, **pooled_metrics(each[t]),
                          "share_low": round(float(lo), 4), "share_high": round(float(hi), 4)}
                         for t, lo, hi in zip(ts, low, high, strict=True)])


def chance_level(frequencies: np.ndarray | None, vocab: Sequence[str], controls: Controls,
                 rules: Rules) -> float | None:
    """The share of recognisable words in CHANCE_CHARS of text drawn character by character from the
    training text's frequencies, cut into texts of controls.length as the model's are."""
    if frequencies is None or frequencies.sum() == 0:
        return None
    rng = np.random.default_rng([controls.seed, len(vocab)])
    codes = rng.choice(len(frequencies), size=CHANCE_CHARS, p=frequencies / frequencies.sum())
    length = controls.length
    texts = [decode(codes[i : i + length], vocab) for i in range(0, CHANCE_CHARS - length + 1, length)]
    each = [counts(s, rules.known, "", rules.min_letters) for s in texts]
    return pooled_metrics(each)["recognisable_words"]


def figure(result: Sweep) -> Figure:
    """Share of recognisable words against T (log axis) with the bootstrap interval of the crossing, the
    threshold, the chance level, and the share of distinct word bigrams."""
    rows = result.table[result.table["temperature"] > 0]
    fig = Figure(figsize=(9.5, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(rows["temperature"], rows["share_low"], rows["share_high"], color="tab:blue", alpha=0.15,
                    label=f"{LEVEL:.0%} band over texts")
    ax.plot(rows["temperature"], rows["recognisable_words"], "o-",
            label=f"recognisable words ({result.min_letters}+ letters)")
    ax.plot(rows["temperature"], rows["distinct_bigrams"], "s--", alpha=0.6,
            label="distinct word pairs (low: the text repeats itself)")
    ax.axhline(result.threshold, color="grey", lw=0.8, ls=":", label=f"threshold {result.threshold:g}")
    if result.chance is not None:
        ax.axhline(result.chance, color="tab:red", lw=1, ls="-.", label=f"chance level {result.chance:.3f}")
    c = result.crossing
    if c.at is not None:
        lo = c.low if c.low is not None else rows["temperature"].min()
        hi = c.high if c.high is not None else rows["temperature"].max()
        ax.axvspan(lo, hi, color="tab:green", alpha=0.2)
        ax.axvline(c.at, color="tab:green", lw=1.2,
                   label=f"crossing T ≈ {c.at:.2f} ({bound(c.low, '<')} to {bound(c.high, '>')})")
    ax.set_xscale("log")
    grid = rows.loc[~rows["refined"], "temperature"]
    ax.set_xticks(grid, [f"{t:g}" for t in grid])
    ax.minorticks_off()
    ax.set(xlabel="softmax temperature T (log scale)", ylabel="share", ylim=(0, 1.05),
           title="From which temperature on are words no longer recognisable?")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(alpha=0.3)
    return fig
