"""What the softmax temperature does: `tempered_softmax` (the exercise's function) and its curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from matplotlib.figure import Figure

from charlm.files import save_figure
from charlm.labels import plain


def tempered_softmax(preds: torch.Tensor | Sequence[float], T: float | torch.Tensor = 1.0) -> torch.Tensor:
    """softmax(preds / T) over the last axis, computed as exp((x - max) / T) so no logit overflows.

    T = 1 is the model's own distribution, T -> 0 tends to argmax (T = 0 is that limit: the likeliest
    outcomes share all the probability), large T flattens towards uniform (T = inf is uniform over the
    outcomes whose logit is not -inf). `T` is a number, one temperature per row (shape
    preds.shape[:-1]), or a tensor whose last axis is 1 that broadcasts against `preds`. The result
    has preds' floating dtype (integers become torch's default).
    """
    preds = torch.as_tensor(preds)
    if not preds.is_floating_point():
        preds = preds.to(torch.get_default_dtype())
    T = per_row(torch.as_tensor(T, dtype=preds.dtype), preds.shape)
    if not bool((T >= 0).all()):
        raise ValueError(f"temperature must be >= 0, got {T.flatten().tolist()}")
    z = preds - preds.max(dim=-1, keepdim=True).values
    # the max stays exp(0) = 1 at any T, 0 and inf too
    scaled = torch.where(z == 0, torch.zeros_like(z), z / T)
    scaled = torch.where(torch.isneginf(z), z, scaled)  # an impossible outcome stays impossible
    e = torch.exp(scaled)
    return e / e.sum(dim=-1, keepdim=True)


def per_row(T: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """T shaped to broadcast against logits of `shape`: a number, one per row, or last axis 1."""
    if T.ndim == 0 or (T.ndim > 0 and T.shape[-1] == 1):
        return T
    if T.shape == shape[:-1]:
        return T[..., None]
    raise ValueError(f"T of shape {tuple(T.shape)} for logits of shape {tuple(shape)}: give a number, one per"
                     f" row (shape {tuple(shape[:-1])}), or a tensor whose last axis is 1")


def random_logits(seed: int, n: int = 10) -> torch.Tensor:
    """n logits ~ N(0, 2^2), sorted: a stand-in for a model's output."""
    logits = torch.randn(n, generator=torch.Generator().manual_seed(seed)) * 2
    return logits.sort(descending=True).values


def curve_figure(logits: torch.Tensor | Sequence[float], labels: Sequence[str], temperatures: Sequence[float],
                 title: str, top: int | None = None) -> Figure:
    """One line per temperature: the probability it gives to each outcome, outcomes on the x axis,
    likeliest first. With `top`, only the `top` likeliest outcomes are drawn, but their probabilities
    are those of the softmax over all the outcomes: the others are left out of the picture, not out of
    the sum."""
    logits = torch.as_tensor(logits)
    shown = logits.argsort(descending=True, stable=True)[:top].tolist()
    fig = Figure(figsize=(max(7, 0.45 * len(shown)), 4.5))
    ax = fig.subplots()
    for t in sorted(temperatures):
        probabilities = tempered_softmax(logits, t)[shown].numpy()  # of all the outcomes
        ax.plot(range(len(shown)), probabilities, "o-", ms=3.5, label=f"T = {t:g}")
    ax.set_xticks(range(len(shown)), [plain(labels[i]) for i in shown])
    ax.set(xlabel="outcome (sorted by logit)", ylabel="probability", ylim=(0, 1.02), title=plain(title))
    ax.legend(title="temperature")
    ax.grid(alpha=0.3)
    return fig


def plot_curves(logits: torch.Tensor | Sequence[float], labels: Sequence[str], temperatures: Sequence[float],
                title: str, path: Path, top: int | None = None) -> None:
    """`curve_figure` saved as a PNG at `path`."""
    save_figure(curve_figure(logits, labels, temperatures, title, top), path)
