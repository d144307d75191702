"""Stage 4, sample: write text at several softmax temperatures and measure how word-like it is.

    models/best.ckpt + data/prepared -> prompt (sample.prompt, or a line of the validation text)
    -> one batch, one row per temperature, the LSTM state carried from character to character
       by a compiled step function over the weights (no per-character framework calls)
    -> data/samples/T<t>.txt, metrics/sample.json, plots/recognisable_words.{csv,png}

"From which temperature on are words no longer recognisable?" is answered by
`unrecognisable_from`: the lowest temperature whose share of generated words found in the
training text falls below `sample.recognisable_threshold` (pooled over `sample.count` texts, so
one unlucky text does not decide it).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from numba import njit

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


# Generation runs in a plain step function over the LSTM weights, compiled once by numba: called
# one character at a time, nn.LSTM spends ~1 ms per call on framework overhead; this step does the
# ~220k multiply-adds of a 2 x 128 LSTM in ~30 us. Gates use Eigen's rational tanh (sigmoid(x) =
# (1 + tanh(x/2)) / 2), accurate to ~3e-7 and, unlike libm's exp, vectorisable.

Weights = tuple[np.ndarray, ...]


def lstm_weights(model: LitCharRNN) -> Weights:
    """LitCharRNN's weights laid out for `_step`: inputs times weights, with the embedding folded
    into layer 1's input gates (a table of V rows) and both LSTM biases summed."""
    sd = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    layers, H = model.hparams.num_layers, model.hparams.hidden_size
    table = sd["embed.weight"] @ sd["lstm.weight_ih_l0"].T + sd["lstm.bias_ih_l0"] + sd["lstm.bias_hh_l0"]
    upper = [np.concatenate([sd[f"lstm.weight_ih_l{n}"].T, sd[f"lstm.weight_hh_l{n}"].T]) for n in range(1, layers)]
    bias = [sd[f"lstm.bias_ih_l{n}"] + sd[f"lstm.bias_hh_l{n}"] for n in range(1, layers)]
    w = (table, sd["lstm.weight_hh_l0"].T, np.array(upper).reshape(layers - 1, 2 * H, 4 * H),
         np.array(bias).reshape(layers - 1, 4 * H), sd["head.1.weight"].T, sd["head.1.bias"],
         sd["head.4.weight"].T, sd["head.4.bias"])
    return tuple(np.ascontiguousarray(a, dtype=np.float32) for a in w)


@njit(cache=True, fastmath=True, inline="always")
def _tanh(x: float) -> float:
    x = min(max(x, -7.90531110763549805), 7.90531110763549805)
    x2 = x * x
    p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
    p = x2 * p - 8.60467152213735e-11
    p = x2 * p + 5.12229709037114e-08
    p = x2 * p + 1.48572235717979e-05
    p = x2 * p + 6.37261928875436e-04
    p = x2 * p + 4.89352455891786e-03
    q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
    q = x2 * q + 2.26843463243900e-03
    q = x2 * q + 4.89352518554385e-03
    return x * p / q


@njit(cache=True, fastmath=True)
def _affine(x: np.ndarray, W: np.ndarray, out: np.ndarray) -> None:
    """out (B, N) += x (B, K) @ W (K, N), four weight rows at a time (fewer passes over `out`)."""
    K, k = x.shape[1], 0
    while k < K:
        n = min(4, K - k)
        for r in range(x.shape[0]):
            if n == 4:
                x0, x1, x2, x3 = x[r, k], x[r, k + 1], x[r, k + 2], x[r, k + 3]
                for j in range(out.shape[1]):
                    out[r, j] += x0 * W[k, j] + x1 * W[k + 1, j] + x2 * W[k + 2, j] + x3 * W[k + 3, j]
            else:
                for i in range(n):
                    for j in range(out.shape[1]):
                        out[r, j] += x[r, k + i] * W[k + i, j]
        k += n


@njit(cache=True, fastmath=True)
def _cells(z: np.ndarray, c: np.ndarray, h: np.ndarray) -> None:
    """LSTM cell update in place from gate pre-activations z (B, 4H), PyTorch's order i, f, g, o."""
    H = c.shape[1]
    for r in range(z.shape[0]):
        for j in range(H):
            i = 0.5 + 0.5 * _tanh(0.5 * z[r, j])
            f = 0.5 + 0.5 * _tanh(0.5 * z[r, H + j])
            g = _tanh(z[r, 2 * H + j])
            o = 0.5 + 0.5 * _tanh(0.5 * z[r, 3 * H + j])
            c[r, j] = f * c[r, j] + i * g
            h[r, j] = o * _tanh(c[r, j])


@njit(cache=True, fastmath=True)
def _step(w: Weights, chars: np.ndarray, h: np.ndarray, c: np.ndarray, z: np.ndarray, a: np.ndarray,
          logits: np.ndarray) -> None:
    """Read one character per row: the states h, c (layers, B, H) advance, next-char logits (B, V) are written."""
    table, w_hh0, w_up, b_up, w_a, b_a, w_b, b_b = w
    for r in range(chars.shape[0]):
        z[r] = table[chars[r]]
    _affine(h[0], w_hh0, z)
    _cells(z, c[0], h[0])
    for n in range(1, h.shape[0]):
        H = h.shape[2]
        z[:] = b_up[n - 1]
        _affine(h[n - 1], w_up[n - 1, :H], z)
        _affine(h[n], w_up[n - 1, H:], z)
        _cells(z, c[n], h[n])
    a[:] = b_a
    _affine(h[-1], w_a, a)
    a[:] = np.maximum(a, 0.0)  # ReLU; dropout is off at inference
    logits[:] = b_b
    _affine(a, w_b, logits)


@njit(cache=True, fastmath=True)
def _run(w: Weights, inputs: np.ndarray, temperatures: np.ndarray, uniforms: np.ndarray, out: np.ndarray,
         all_logits: np.ndarray) -> None:
    """Read `inputs` (B, P), then sample out.shape[1] characters per row from the tempered softmax
    by inverse CDF on `uniforms`; with out.shape[1] == 0, keep every step's logits instead."""
    B, V, H = inputs.shape[0], w[0].shape[0], w[1].shape[0]
    layers = w[2].shape[0] + 1
    h, c = np.zeros((layers, B, H), np.float32), np.zeros((layers, B, H), np.float32)
    z, a, logits = np.empty((B, 4 * H), np.float32), np.empty((B, H), np.float32), np.empty((B, V), np.float32)
    for t in range(inputs.shape[1]):
        _step(w, inputs[:, t], h, c, z, a, logits)
        if all_logits.shape[1]:
            all_logits[:, t] = logits
    p, chars = np.empty(V, np.float32), np.empty(B, np.int64)
    for t in range(out.shape[1]):
        for r in range(B):  # tempered_softmax(logits[r], T[r]), then the first index whose cumulative mass passes u
            top, total = logits[r].max(), 0.0
            for j in range(V):
                p[j] = math.exp((logits[r, j] - top) / temperatures[r])
                total += p[j]
            k, mass, target = 0, p[0], uniforms[t, r] * total
            while mass <= target and k < V - 1:
                k += 1
                mass += p[k]
            out[r, t] = chars[r] = k
        _step(w, chars, h, c, z, a, logits)


def step_logits(model: LitCharRNN, codes: torch.Tensor) -> torch.Tensor:
    """Next-character logits after every position of `codes` (B, T), computed by the step function."""
    inputs = np.ascontiguousarray(codes.numpy(), dtype=np.int64)
    logits = np.empty((*inputs.shape, model.hparams.vocab_size), np.float32)
    _run(lstm_weights(model), inputs, np.ones(len(inputs), np.float32), np.empty((0, len(inputs)), np.float32),
         np.empty((len(inputs), 0), np.int64), logits)
    return torch.from_numpy(logits)


def generate(model: LitCharRNN, prompt: torch.Tensor, temperatures: Sequence[float], length: int,
             seed: int = 0) -> torch.Tensor:
    """Sample `length` characters after `prompt` for every temperature at once: (len(temperatures), length).

    The prompt is read once; after that each new character is one step on the carried state.
    """
    if min(temperatures) <= 0:
        raise ValueError(f"temperature must be > 0, got {list(temperatures)}")
    rows = len(temperatures)
    inputs = np.ascontiguousarray(np.broadcast_to(prompt.numpy().astype(np.int64), (rows, len(prompt))))
    uniforms = np.random.default_rng(seed).random((length, rows), dtype=np.float32)
    out = np.empty((rows, length), np.int64)
    _run(lstm_weights(model), inputs, np.asarray(temperatures, np.float32), uniforms, out,
         np.empty((rows, 0, 0), np.float32))
    return torch.from_numpy(out)


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
