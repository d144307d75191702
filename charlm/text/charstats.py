"""Which characters a corpus holds: a frequency table, a bar chart and a short report.

Rare characters are often stray symbols (a page number's digit, a mis-decoded byte) that cost the
model a vocabulary slot for nothing: the report names them so the user can clean the source.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from charlm.files import save_figure
from charlm.labels import char_label, plain

PLOTTED = 200  # bars in the frequency plot at most: a book has about 100 distinct characters


def char_counts(counts: np.ndarray, idx2char: Sequence[str]) -> pd.DataFrame:
    """The table of each character's occurrences (`counts[i]` for `idx2char[i]`), most frequent first."""
    table = pd.DataFrame({"char": [char_label(c) for c in idx2char],
                          "codepoint": [f"U+{ord(c):04X}" for c in idx2char],
                          "count": counts, "share": counts / counts.sum()})
    return table.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def plot_frequency(table: pd.DataFrame, rare_below: int, path: Path) -> None:
    """A bar per character, the PLOTTED most frequent at most: a figure whose size does not grow with a
    huge vocabulary (the rest is in the report and the table)."""
    shown = table.head(PLOTTED)
    fig = Figure(figsize=(max(8, 0.16 * len(shown)), 4.5))
    ax = fig.subplots()
    colors = ["tab:red" if n < rare_below else "tab:blue" for n in shown["count"]]
    ax.bar(range(len(shown)), shown["count"], color=colors)
    ax.set_xticks(range(len(shown)), [plain(c) for c in shown["char"]], rotation=90, fontsize=7)
    ax.set_yscale("log")
    which = f"the {PLOTTED} most frequent of " if len(table) > PLOTTED else ""
    ax.set(xlabel="character", ylabel="occurrences (log scale)",
           title=f"Character frequencies ({which}{len(table)} distinct; red: fewer than {rare_below})")
    save_figure(fig, path)


LISTED = 50  # rare characters named in the report at most: a line to read, whatever the vocabulary


def report(table: pd.DataFrame, rare_below: int) -> str:
    rare = table[table["count"] < rare_below]
    top = ", ".join(f"{r.char} {r.share:.1%}" for r in table.head(10).itertuples())
    bottom = ", ".join(f"{r.char} x{r['count']}" for _, r in table.tail(5).iloc[::-1].iterrows())
    lines = [f"most frequent: {top}", f"least frequent: {bottom}"]
    if len(rare):
        listed = " ".join(f"{r.char}({r.codepoint})" for r in rare.head(LISTED).itertuples())
        more = f" and {len(rare) - LISTED:,} more" if len(rare) > LISTED else ""
        lines.append(f"{len(rare):,} characters occur fewer than {rare_below} times (stray symbols?):"
                     f" {listed}{more}")
    return "\n".join(lines)
