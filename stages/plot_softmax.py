"""Stage 5, plot_softmax: what the temperature does to a softmax, on random and on real logits.

    seed -> 10 random logits -> tempered_softmax at each of plot.temperatures -> plots/softmax_random.png
    models/best.ckpt + prompt -> next-character logits -> same curves over the likeliest characters
    -> plots/softmax_model.png
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from stages.params import cli, load
from stages.prepare import OUT_DIR as DATA_DIR
from stages.prepare import decode, load_split, load_vocab, save_figure
from stages.sample import default_prompt, encode_prompt, load_model, tempered_softmax
from stages.train import CHECKPOINT

RANDOM_PNG = Path("plots/softmax_random.png")
MODEL_PNG = Path("plots/softmax_model.png")
N_RANDOM = 10
TOP_K = 20


def label(char: str) -> str:
    return {" ": "␣", "\n": "\\n", "\t": "\\t"}.get(char, char)


def plot_curves(logits: torch.Tensor, labels: Sequence[str], temperatures: Sequence[float], title: str,
                path: Path) -> None:
    """One line per temperature: the probability it gives to each outcome, outcomes on the x axis."""
    fig, ax = plt.subplots(figsize=(max(7, 0.45 * len(labels)), 4.5))
    for t in sorted(temperatures):
        ax.plot(range(len(labels)), tempered_softmax(logits, t).numpy(), "o-", ms=3.5, label=f"T = {t:g}")
    ax.set_xticks(range(len(labels)), labels)
    ax.set(xlabel="outcome (sorted by logit)", ylabel="probability", ylim=(0, 1.02), title=title)
    ax.legend(title="temperature")
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def random_logits(seed: int, n: int = N_RANDOM) -> torch.Tensor:
    logits = torch.randn(n, generator=torch.Generator().manual_seed(seed)) * 2
    return logits.sort(descending=True).values


@torch.no_grad()
def model_logits(prompt: str, maxlen: int, data_dir: Path = DATA_DIR, checkpoint: Path = CHECKPOINT,
                 k: int = TOP_K) -> tuple[torch.Tensor, list[str], str]:
    """The model's k highest next-character logits after `prompt` (default: a validation line)."""
    idx2char = load_vocab(data_dir)
    prompt = prompt or default_prompt(decode(load_split(data_dir, "val"), idx2char), maxlen)
    logits = load_model(checkpoint, idx2char)(encode_prompt(prompt, idx2char)[None])[0]
    top = logits.topk(min(k, len(idx2char)))
    return top.values, [label(idx2char[i]) for i in top.indices.tolist()], prompt


def main() -> None:
    params = load("prepare", "plot")
    temperatures = params["plot"]["temperatures"]
    logits = random_logits(params["seed"])
    plot_curves(logits, [str(i) for i in range(len(logits))], temperatures,
                "Tempered softmax of 10 random logits", RANDOM_PNG)
    logits, labels, prompt = model_logits(params["plot"]["prompt"], params["prepare"]["maxlen"])
    plot_curves(logits, labels, temperatures,
                f"Next character after {prompt[-30:]!r} (top {len(labels)})", MODEL_PNG)
    print(f"plot_softmax: wrote {RANDOM_PNG} and {MODEL_PNG}")


if __name__ == "__main__":
    cli(main)
