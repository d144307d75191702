"""What the Temperature sweep shows beside its figure and sentence (charlm.sample.sweep): a row per
temperature, and the texts folded by temperature, the prompt marked apart."""

from __future__ import annotations

import html

import pandas as pd

from charlm.app.drawn import written_view
from charlm.sample.sweep import Sweep

SHOWN = 3  # texts shown per temperature: enough to read the change, a page that stays short


def rows(result: Sweep) -> pd.DataFrame:
    """A row per temperature: its share of recognisable words with the 90 % band, and its word count."""
    t = result.table
    return pd.DataFrame({"T": t["temperature"], "added": t["refined"].map({True: "refined", False: ""}),
                         "recognisable words": t["recognisable_words"],
                         "band": [f"{lo:.2f} to {hi:.2f}" if lo is not None and lo == lo else "" for lo, hi in
                                  zip(t["share_low"], t["share_high"], strict=True)],
                         "words scored": t["words"]})


def texts_view(result: Sweep, prompt: str) -> str:
    """Each temperature's first SHOWN texts, folded under a line with its share."""
    share = dict(zip(result.table["temperature"], result.table["recognisable_words"], strict=True))
    parts = []
    for t in sorted(result.texts):
        ts = result.texts[t]
        s = share[t]
        scored = s is not None and s == s  # None or NaN: no word of 3+ letters to score
        head = f"T = {t:g}: recognisable words {s:.2f}" if scored else f"T = {t:g}: no words to score"
        body = "".join(written_view(prompt, text) for text in ts[:SHOWN])
        parts.append(f'<details class="sample"><summary>{html.escape(head)} (the first {min(SHOWN, len(ts))}'
                     f" of {len(ts)} texts)</summary>{body}</details>")
    return "".join(parts)
