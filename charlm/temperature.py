"""What the softmax temperature does: `tempered_softmax` (the exercise's function) and its curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from matplotlib.figure import Figure

from charlm.files import save_figure


def tempered_softmax(preds: torch.Tensor | Sequence[float], T: float | torch.Tensor = 1.0) -> torch.Tensor:
    """softmax(preds / T) over the last axis, computed as exp((x - max) / T) so no logit overflows.

    T = 1 is the model's own distribution, T -> 0 tends to argmax, large T flattens towards uniform.
    `T` may be a tensor that broadcasts against `preds` (one temperature per row).
    """
    preds = torch.as_tensor(preds, dtype=torch.get_default_dtype())
    T = torch.as_tensor(T, dtype=preds.dtype)
    if not bool((T > 0).all()):
        raise ValueError(f"temperature must be > 0, got {T.tolist()}")
    z = preds - preds.max(dim=-1, keepdim=True).values
    e = torch.exp(z / T)  # the max entry is exp(0) = 1, so the sum is >= 1 even as T -> 0
    return e / e.sum(dim=-1, keepdim=True)


def random_logits(seed: int, n: int = 10) -> torch.Tensor:
    """n logits ~ N(0, 2^2), sorted: a stand-in for a model's output."""
    logits = torch.randn(n, generator=torch.Generator().manual_seed(seed)) * 2
    return logits.sort(descending=True).values


def plot_curves(logits: torch.Tensor, labels: Sequence[str], temperatures: Sequence[float], title: str,
                path: Path) -> None:
    """One line per temperature: the probability it gives to each outcome, outcomes on the x axis."""
    fig = Figure(figsize=(max(7, 0.45 * len(labels)), 4.5))
    ax = fig.subplots()
    for t in sorted(temperatures):
        ax.plot(range(len(labels)), tempered_softmax(logits, t).numpy(), "o-", ms=3.5, label=f"T = {t:g}")
    ax.set_xticks(range(len(labels)), labels)
    ax.set(xlabel="outcome (sorted by logit)", ylabel="probability", ylim=(0, 1.02), title=title)
    ax.legend(title="temperature")
    ax.grid(alpha=0.3)
    save_figure(fig, path)
