"""Compare experiments: one HTML page with a params/metrics table and overlaid curves.

    dvc.api.exp_show() -> pandas table of every experiment's params and metrics
    dvc.api.read(<curve file>, rev=<experiment>) -> overlaid val-loss and recognisable-words curves
    -> plots/experiments.html (+ PNGs beside it)

Not a DVC stage: it reads the experiments DVC keeps, so run it after `dvc exp run`:
`python -m tools.report`.
"""

from __future__ import annotations

import io
from pathlib import Path

import dvc.api
import pandas as pd
from matplotlib.figure import Figure

from charlm.errors import CharlmError, cli
from charlm.files import atomic_write, save_figure

OUT = Path("plots/experiments.html")
LOSS_TSV = "dvclive/plots/metrics/val/loss.tsv"
WORDS_CSV = "plots/recognisable_words.csv"
META = ["Experiment", "rev", "typ", "Created", "parent", "State", "Executor", "name"]
METRICS = ["test_loss", "test_loss_stateful", "val_loss", "val_loss_stateful", "val_bpc", "val_acc", "epochs",
           "stopped_by", "train_seconds", "windows_per_second", "unrecognisable_at"]


def experiments(repo: str = ".") -> pd.DataFrame:
    """One row per experiment (and the workspace/baseline) with params and metrics as columns."""
    rows = dvc.api.exp_show(repo=repo, force=True)
    if not rows:
        raise CharlmError("no experiments found: run `dvc exp run` first")
    table = pd.DataFrame(rows).replace("!", pd.NA)  # exp_show marks a missing value with "!"
    table["name"] = table["Experiment"].fillna("").where(table["Experiment"].fillna("") != "", table["rev"])
    ran = table["val_loss"].notna() if "val_loss" in table else pd.Series(False, index=table.index)
    if not ran.any():
        raise CharlmError("no experiment has metrics yet: run `dvc exp run` (or `dvc repro`) first")
    table = table[ran]
    same = table.drop(columns=[c for c in table.columns if c in META]).astype(str).duplicated(keep=False)
    return table[~((table["name"] == "workspace") & same)].convert_dtypes().reset_index(drop=True)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Name, params that differ between experiments, and the headline metrics."""
    sections = ("seed", "corpus", "prepare", "model", "train", "sample", "plot")
    params = [c for c in table.columns if c.split(".")[0] in sections and table[c].astype(str).nunique() > 1]
    metrics = [c for c in table.columns if c.split(":")[-1] in METRICS]
    return table[["name", *params, *metrics]]


def read_curve(path: str, rev: str, sep: str) -> pd.DataFrame | None:
    try:
        return pd.read_csv(io.StringIO(dvc.api.read(path, rev=None if rev == "workspace" else rev)), sep=sep)
    except Exception:  # an experiment that never wrote this file (e.g. failed before sampling)
        return None


def plot_overlay(table: pd.DataFrame, path: str, sep: str, x: str, y: str, xlabel: str, ylabel: str,
                 title: str, out: Path) -> None:
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    for row in table.itertuples():
        curve = read_curve(path, row.rev, sep)
        if curve is not None:
            ax.plot(curve[x], curve[y], "o-", ms=3, label=row.name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, out)


def render(table: pd.DataFrame, out: Path = OUT) -> None:
    loss_png = out.with_name(out.stem + "_loss.png")
    words_png = out.with_name(out.stem + "_words.png")
    plot_overlay(table, LOSS_TSV, "\t", "step", "loss", "optimiser step", "validation loss (nats/char)",
                 "Validation loss", loss_png)
    plot_overlay(table, WORDS_CSV, ",", "temperature", "recognisable_words", "softmax temperature",
                 "recognisable words", "Recognisable words by temperature", words_png)
    html = (
        "<!doctype html><meta charset='utf-8'><title>charlm experiments</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style>"
        f"<h1>charlm experiments</h1>{summary(table).to_html(index=False, na_rep='-')}"
        f"<h2>Validation loss</h2><img src='{loss_png.name}'>"
        f"<h2>Recognisable words</h2><img src='{words_png.name}'>"
    )
    atomic_write(out, html)


def main() -> None:
    table = experiments()
    render(table)
    print(summary(table).to_string(index=False))
    print(f"report: wrote {OUT}")


if __name__ == "__main__":
    cli(main)
