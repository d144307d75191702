"""Where a share falling with temperature crosses a threshold, and how sure that is.

The share of recognisable words is measured at a few temperatures, from a few texts each. The
crossing is interpolated between the two measured temperatures around it, linearly in log T (the
grid is spaced roughly geometrically, and the share falls about linearly in log T there). Its
interval comes from a bootstrap over texts: text i is drawn from the same random stream at every
temperature, so a replicate resamples text numbers, the same ones at every temperature, and keeps
that pairing. Greedy text (T = 0) has no log T and takes no part.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

BOOTSTRAP = 2000  # replicates: the 5 % and 95 % quantiles move by about 0.005 in log T between seeds
LEVEL = 0.9  # the interval's coverage
NO_INTERVAL = "one text per temperature gives no interval (sample.count 2 or more does)"


@dataclass(frozen=True)
class Crossing:
    """The temperature where the share first falls below the threshold, with its bootstrap interval
    (None where a bound lies outside the measured temperatures), or None and why there is none."""

    at: float | None
    low: float | None
    high: float | None
    note: str


def first_crossing(temperatures: np.ndarray, shares: np.ndarray, threshold: float) -> float:
    """log-T interpolated temperature where `shares` first goes from >= threshold to below it; -inf if
    it starts below, +inf if it never falls below, nan if a share is missing (or none was measured).
    Temperatures ascending, > 0."""
    if len(shares) == 0 or np.isnan(shares).any():
        return float("nan")
    below = shares < threshold
    if below[0]:
        return float("-inf")
    if not below.any():
        return float("inf")
    k = int(np.argmax(below))  # the first point below; k - 1 is at or above
    lo, hi = np.log(temperatures[k - 1]), np.log(temperatures[k])
    fraction = (shares[k - 1] - threshold) / (shares[k - 1] - shares[k])
    return float(np.exp(lo + fraction * (hi - lo)))


def pooled(found: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Share of found words per temperature, pooled over the texts (last axis); nan where none."""
    total = words.sum(-1)
    return np.where(total > 0, found.sum(-1) / np.maximum(total, 1), np.nan)


def crossing(temperatures: np.ndarray, found: np.ndarray, words: np.ndarray, threshold: float,
             seed: int = 0) -> Crossing:
    """The crossing of the pooled share, from (temperatures, texts) arrays of recognisable and all words
    per text; positive temperatures only, in any order."""
    t, found, words = np.asarray(temperatures, dtype=float), np.asarray(found), np.asarray(words)
    keep = (t > 0) & (words.sum(-1) > 0)  # a temperature that wrote no word tells nothing
    order = np.argsort(t[keep])
    t, found, words = t[keep][order], found[keep][order], words[keep][order]
    if len(t) == 0:
        return Crossing(None, None, None, "no temperature above 0 wrote a word to count")
    at = first_crossing(t, pooled(found, words), threshold)
    if not np.isfinite(at):
        return Crossing(None, None, None, why_none(at, t, threshold))
    if found.shape[1] < 2:  # resampling one text gives that text back: no interval to speak of
        return Crossing(round(at, 3), None, None, f"interpolated in log T; {NO_INTERVAL}")
    replicates = np.array([first_crossing(t, s, threshold) for s in resampled(found, words, seed)])
    replicates = replicates[~np.isnan(replicates)]
    low, high = np.quantile(replicates, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], method="inverted_cdf")
    return Crossing(round(at, 3), bound(low), bound(high), f"interpolated in log T, {LEVEL:.0%} bootstrap"
                    f" interval over {found.shape[1]} texts per temperature")


def resampled(found: np.ndarray, words: np.ndarray, seed: int) -> np.ndarray:
    """BOOTSTRAP replicates of the pooled shares (replicates, temperatures): each draws text numbers with
    replacement, the same ones at every temperature."""
    texts = found.shape[1]
    picks = np.random.default_rng(seed).integers(0, texts, size=(BOOTSTRAP, texts))
    return np.stack([pooled(found[:, p], words[:, p]) for p in picks])


def band(found: np.ndarray, words: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The LEVEL bootstrap interval of each temperature's pooled share."""
    with warnings.catch_warnings():  # a temperature without words has no band
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(resampled(found, words, seed), [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
    return low, high


def bound(value: float) -> float | None:
    """An interval bound, None where the bootstrap put it outside the measured temperatures."""
    return round(float(value), 3) if np.isfinite(value) else None


def why_none(at: float, t: np.ndarray, threshold: float) -> str:
    if at == float("inf"):
        return f"no crossing in the grid: the share stays at or above {threshold:g} up to T = {t[-1]:g}"
    return f"no crossing in the grid: the share is already below {threshold:g} at T = {t[0]:g}"


def refinement(temperatures: np.ndarray, shares: np.ndarray, threshold: float, points: int) -> list[float]:
    """`points` temperatures spaced evenly in log T strictly between the two grid points around the
    first crossing of the pooled shares; none if there is no crossing."""
    t = np.asarray(temperatures, dtype=float)
    keep = (t > 0) & ~np.isnan(shares)
    order = np.argsort(t[keep])
    t, s = t[keep][order], np.asarray(shares, dtype=float)[keep][order]
    if points == 0 or not np.isfinite(first_crossing(t, s, threshold)):
        return []
    k = int(np.argmax(s < threshold))
    inside = np.exp(np.linspace(np.log(t[k - 1]), np.log(t[k]), points + 2)[1:-1])
    return [round(float(x), 3) for x in inside]
