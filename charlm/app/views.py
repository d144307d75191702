"""What the explorer's panels show beside text: the distribution at one position, the run's curves,
the samples written while it trained (folded), and the legends of the colours."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from charlm.labels import char_label, char_name, plain

RED, PURPLE = "239, 68, 60", "128, 90, 213"  # HighlightedText's colours for a positive, negative score
SAMPLE = re.compile(r"^## (.+?)\n+~~~~text\n(.*?)\n?~~~~$", re.MULTILINE | re.DOTALL)  # dvclive/samples.md


def distribution_plot(at_1: np.ndarray, drawn: np.ndarray, how: str, vocab: Sequence[str], actual: int,
                      top: int = 12) -> tuple[Figure, pd.DataFrame]:
    """Bars of the likeliest next characters: the model's own distribution (T = 1) and the one the
    character was drawn from (`how` says with what), the character written among them; and their table."""
    order = [int(i) for i in np.argsort(-at_1, kind="stable")[:top]]
    if actual not in order:
        order.append(actual)
    labels = [char_label(vocab[i]) for i in order]
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(order))
    ax.bar(x - 0.2, at_1[order], 0.4, label="the model (T = 1)")
    ax.bar(x + 0.2, drawn[order], 0.4, label=plain(f"drawn from ({how})"))
    ax.set_xticks(x, [plain(label) for label in labels])
    ax.get_xticklabels()[order.index(actual)].set_fontweight("bold")
    title = f"Before {char_name(vocab[actual])}: the likeliest next characters (bold: the one written)"
    ax.set(ylabel="probability", ylim=(0, 1), title=plain(title))
    ax.legend()
    table = pd.DataFrame({"character": labels, "p at T = 1": at_1[order].round(4),
                          "p as drawn": drawn[order].round(4)})
    return fig, table


def curves_plot(live: Path) -> Figure:
    """Loss and learning rate by optimiser step, from DVCLive's TSV files."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
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
    lr_ax.set_ylim(bottom=0)  # from 0: a decay to a tenth looks like one, not like a fall off a cliff
    lr_ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    return fig


def folded_samples(markdown: str) -> str:
    """dvclive/samples.md as HTML, one folded <details> per validation (its heading the summary), so a
    long run's samples do not make a long page; a file of another shape folded whole."""
    samples = SAMPLE.findall(markdown)
    if not samples:
        return f"<details><summary>the samples</summary><pre>{html.escape(markdown)}</pre></details>"
    return "\n".join(f'<details class="sample"><summary>{html.escape(heading)}</summary>'
                     f"<pre>{html.escape(text)}</pre></details>" for heading, text in samples)


def legend(low: str, high: str, signed: bool = False) -> str:
    """A colour bar with what its ends mean: white to red, or purple through white to red (`signed`)."""
    stops = f"rgba({PURPLE}, 1), rgba({PURPLE}, 0), " if signed else ""
    bar = f"background: linear-gradient(to right, {stops}rgba({RED}, 0), rgba({RED}, 1))"
    return (f'<div class="legend"><span class="end">{html.escape(low)}</span>'
            f'<span class="bar" style="{bar}"></span><span class="end">{html.escape(high)}</span></div>')
