"""Stage 4, sample: write text at several softmax temperatures and measure how word-like it is.

    models/best.ckpt + data/prepared -> prompt (sample.prompt, or a line of the validation text)
    -> one batch, one row per temperature, the LSTM state carried from character to character
    -> data/samples/T<t>.txt, metrics/sample.json, plots/recognisable_words.{csv,png}

"From which temperature on are words no longer recognisable?" is answered by
`unrecognisable_from`: the lowest temperature whose share of generated words found in the
training text falls below `sample.recognisable_threshold` (pooled over `sample.count` texts, so
one unlucky text does not decide it).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import torch

from stages.download import atomic_dir, atomic_path, atomic_write, write_json
from stages.params import CharlmError, cli, load
from stages.prepare import OUT_DIR as DATA_DIR
from stages.prepare import decode, load_split, load_vocab, save_figure
from stages.train import CHECKPOINT, LitCharRNN

OUT_DIR = Path("data/samples")
METRICS = Path("metrics/sample.json")
CURVE_CSV = Path("plots/recognisable_words.csv")
CURVE_PNG = Path("plots/recognisable_words.png")
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


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


def load_model(path: Path = CHECKPOINT, idx2char: Sequence[str] | None = None) -> LitCharRNN:
    """Rebuild LitCharRNN from a Lightning checkpoint, loaded safely (weights_only=True).

    With `idx2char`, refuse a model trained on another vocabulary: its indices would mean other characters.
    """
    if not path.is_file():
        raise CharlmError(f"{path} not found: run the train stage first (dvc repro train)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        model = LitCharRNN(**ckpt["hyper_parameters"])
        model.load_state_dict(ckpt["state_dict"])
    except Exception as e:  # a truncated or foreign file: say which one, not a traceback
        raise CharlmError(f"{path} is not a valid charlm checkpoint ({type(e).__name__})") from None
    if idx2char is not None and ckpt.get("vocab") != list(idx2char):
        raise CharlmError(f"{path} was trained on a different vocabulary than data/prepared: rerun the train stage")
    return model.eval()


@torch.no_grad()
def generate(model: LitCharRNN, prompt: torch.Tensor, temperatures: Sequence[float], length: int,
             seed: int = 0) -> torch.Tensor:
    """Sample `length` characters after `prompt` for every temperature at once: (len(temperatures), length).

    The prompt is read once; after that each new character is one LSTM step on the carried state.
    """
    T = torch.tensor(temperatures, dtype=torch.float32)[:, None]
    generator = torch.Generator().manual_seed(seed)
    x = prompt.long().expand(len(temperatures), -1)
    out = torch.empty(len(temperatures), length, dtype=torch.long)
    logits, state = model.step(x)
    for i in range(length):
        out[:, i] = torch.multinomial(tempered_softmax(logits, T), 1, generator=generator)[:, 0]
        logits, state = model.step(out[:, i : i + 1], state)
    return out


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def word_metrics(texts: str | Sequence[str], known: set[str]) -> dict[str, float]:
    """Share of words found in the training text, and distinct word bigrams / all bigrams, over all texts."""
    ws: list[str] = []
    bigrams: list[tuple[str, str]] = []
    for text in [texts] if isinstance(texts, str) else texts:
        w = words(text)
        if text and (text[-1].isalpha() or text[-1] == "'"):
            w = w[:-1]  # the last word was cut off by the length limit
        ws += w
        bigrams += zip(w, w[1:])
    return {
        "words": len(ws),
        "recognisable_words": round(sum(w in known for w in ws) / len(ws), 4) if ws else 0.0,
        "distinct_bigrams": round(len(set(bigrams)) / len(bigrams), 4) if bigrams else 0.0,
    }


def default_prompt(val_text: str, maxlen: int) -> str:
    """`maxlen` characters of validation text starting at a line start, so the sample starts cleanly."""
    start = val_text.find("\n") + 1
    if start == 0 or start + maxlen > len(val_text):
        start = 0
    return val_text[start : start + maxlen]


def encode_prompt(prompt: str, idx2char: Sequence[str], unknown: str = "error") -> torch.Tensor:
    """Prompt as indices; characters the model never saw are an error, or dropped with `unknown="skip"`."""
    char2idx = {c: i for i, c in enumerate(idx2char)}
    missing = sorted(set(prompt) - char2idx.keys())
    if missing and unknown != "skip":
        raise CharlmError(f"the prompt has characters not in the vocabulary: {''.join(missing)!r} "
                          "(remove them, or set sample.unknown: skip)")
    if missing:
        print(f"warning: dropping prompt characters not in the vocabulary: {''.join(missing)!r}", file=sys.stderr)
    codes = [char2idx[c] for c in prompt if c in char2idx]
    if not codes:
        raise CharlmError("the prompt has no character of the vocabulary left")
    return torch.tensor(codes, dtype=torch.long)


def plot_curve(table: pd.DataFrame, threshold: float, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(table["temperature"], table["recognisable_words"], "o-", label="recognisable words")
    ax.plot(table["temperature"], table["distinct_bigrams"], "s--", label="distinct word bigrams")
    ax.axhline(threshold, color="grey", lw=0.8, ls=":", label=f"threshold {threshold:g}")
    ax.set(xlabel="softmax temperature T", ylabel="share", ylim=(0, 1.05),
           title="How word-like is the generated text?")
    ax.legend()
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def sample(cfg: dict[str, Any], *, maxlen: int, seed: int, data_dir: Path = DATA_DIR,
           checkpoint: Path = CHECKPOINT) -> tuple[str, dict[float, list[str]], pd.DataFrame]:
    """Prompt, `sample.count` texts per temperature, and a table of word metrics per temperature."""
    idx2char = load_vocab(data_dir)
    model = load_model(checkpoint, idx2char)
    prompt = cfg["prompt"] or default_prompt(decode(load_split(data_dir, "val"), idx2char), maxlen)
    rows = [t for t in cfg["temperatures"] for _ in range(cfg["count"])]
    codes = generate(model, encode_prompt(prompt, idx2char, cfg["unknown"]), rows, cfg["length"], seed)
    texts: dict[float, list[str]] = {t: [] for t in cfg["temperatures"]}
    for t, row in zip(rows, codes):
        texts[t].append(decode(row, idx2char))
    known = set(words(decode(load_split(data_dir, "train"), idx2char)))
    table = pd.DataFrame([{"temperature": t, **word_metrics(ts, known)} for t, ts in texts.items()])
    return prompt, texts, table


def main() -> None:
    params = load("prepare", "sample")
    cfg = params["sample"]
    prompt, texts, table = sample(cfg, maxlen=params["prepare"]["maxlen"], seed=params["seed"])
    with atomic_dir(OUT_DIR) as out:  # the whole set of texts changes at once, stale temperatures go
        for t, samples in texts.items():
            body = "\n\n".join(f"=== sample {i + 1} of {len(samples)} ===\n{prompt}{text}"
                                 for i, text in enumerate(samples))
            atomic_write(out / f"T{float(t)}.txt", f"# temperature {t:g}, prompt {prompt!r}\n\n{body}\n")
    below = table[table["recognisable_words"] < cfg["recognisable_threshold"]]
    write_json(METRICS, {
        "unrecognisable_from": float(below["temperature"].min()) if len(below) else None,
        "temperature": {f"{row.temperature:g}": {"recognisable_words": row.recognisable_words,
                                                   "distinct_bigrams": row.distinct_bigrams}
                        for row in table.itertuples()},
    })
    with atomic_path(CURVE_CSV) as tmp:
        table.to_csv(tmp, index=False)
    plot_curve(table, cfg["recognisable_threshold"], CURVE_PNG)
    print(table.to_string(index=False))
    for t, samples in texts.items():
        print(f"\n--- T={t:g} ---\n{prompt}{samples[0][:200]}")


if __name__ == "__main__":
    cli(main)
