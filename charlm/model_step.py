"""LitCharRNN's weights run one character at a time, compiled by numba, for generation.

`load_checkpoint` reads what the train stage saved (weights, hyperparameters, vocabulary) with
`torch.load(weights_only=True)` and without importing Lightning, which alone takes 3-6 s to start:
sampling, the softmax plot and `charlm generate` never need it. The result works wherever a
LitCharRNN does for inference here (`state_dict()`, `hparams`, `vocab`).

Called one character at a time, nn.LSTM spends most of its time on framework overhead (~0.3-1 ms
per call on a laptop CPU); this plain step over the weights does the ~220k multiply-adds of a
2 x 128 LSTM in ~30 us. Gates use Eigen's rational tanh (sigmoid(x) = (1 + tanh(x/2)) / 2),
accurate to ~3e-7 and, unlike libm's exp, vectorisable. Batch rows share every weight row.

Sampling uses the Gumbel-max trick: argmax(logits / T + Gumbel noise) is a draw from
`tempered_softmax(logits, T)` without computing the softmax, so the distribution has exactly one
implementation (`charlm.temperature.tempered_softmax`), which the tests hold the sampler to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Union

import numpy as np
import torch
from numba import njit

from charlm.errors import CharlmError

if TYPE_CHECKING:
    from charlm.model import LitCharRNN

Weights = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Checkpoint:
    """A trained model's weights, hyperparameters (vocab_size, maxlen, ...) and vocabulary (idx2char)."""

    weights: dict[str, torch.Tensor]
    hparams: SimpleNamespace
    vocab: list[str]

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.weights


Model = Union["LitCharRNN", Checkpoint]


def load_checkpoint(path: Path | str, vocab: Sequence[str] | None = None) -> Checkpoint:
    """A checkpoint of the train stage, checked: CharlmError if the file is missing or not one, or, given
    `vocab`, if the model was trained on another vocabulary (its indices would mean other characters)."""
    path = Path(path)
    if not path.is_file():
        raise CharlmError(f"{path} not found: train a model first (dvc repro train)")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
        model = Checkpoint(dict(raw["state_dict"]), SimpleNamespace(**raw["hyper_parameters"]), list(raw["vocab"]))
        if len(model.vocab) != model.hparams.vocab_size or not all(isinstance(c, str) for c in model.vocab):
            raise ValueError("vocabulary")
        lstm_weights(model)  # every weight there, with the shapes the hyperparameters say
    except Exception as e:  # a truncated or foreign file: say which one, not a traceback
        raise CharlmError(f"{path} is not a valid charlm checkpoint ({type(e).__name__})") from None
    if vocab is not None and model.vocab != list(vocab):
        raise CharlmError(f"{path} was trained on a different vocabulary than the prepared data: rerun `dvc repro`")
    return model


def lstm_weights(model: Model) -> Weights:
    """The model's weights laid out for `_step`: inputs times weights, with the embedding folded
    into layer 1's input gates (a table of V rows) and both LSTM biases summed."""
    sd = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    layers, H = model.hparams.num_layers, model.hparams.hidden_size
    table = sd["embed.weight"] @ sd["lstm.weight_ih_l0"].T + sd["lstm.bias_ih_l0"] + sd["lstm.bias_hh_l0"]
    upper = [np.concatenate([sd[f"lstm.weight_ih_l{n}"].T, sd[f"lstm.weight_hh_l{n}"].T]) for n in range(1, layers)]
    bias = [sd[f"lstm.bias_ih_l{n}"] + sd[f"lstm.bias_hh_l{n}"] for n in range(1, layers)]
    V = table.shape[0]
    w = (table, sd["lstm.weight_hh_l0"].T, np.array(upper).reshape(layers - 1, 2 * H, 4 * H),
         np.array(bias).reshape(layers - 1, 4 * H), sd["head.dense.weight"].T, sd["head.dense.bias"],
         sd["head.out.weight"].T, sd["head.out.bias"])
    expected = [(V, 4 * H), (H, 4 * H), (layers - 1, 2 * H, 4 * H), (layers - 1, 4 * H), (H, H), (H,), (H, V), (V,)]
    if [a.shape for a in w] != expected:
        raise ValueError(f"weights of shapes {[a.shape for a in w]}, expected {expected}")
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
def _read(w: Weights, inputs: np.ndarray, h: np.ndarray, c: np.ndarray, z: np.ndarray, a: np.ndarray,
          logits: np.ndarray) -> None:
    for t in range(inputs.shape[1]):
        _step(w, inputs[:, t], h, c, z, a, logits)


@njit(cache=True, fastmath=True)
def _sample(w: Weights, inv_t: np.ndarray, uniforms: np.ndarray, h: np.ndarray, c: np.ndarray, z: np.ndarray,
            a: np.ndarray, logits: np.ndarray, chars: np.ndarray, out: np.ndarray) -> None:
    """out (B, n): per row, argmax(logits / T - log(-log(u))) (Gumbel-max), then one step on that character."""
    for t in range(out.shape[1]):
        for r in range(out.shape[0]):
            best, k = 0.0, -1  # fastmath assumes no infinities: the first score starts the search
            for j in range(logits.shape[1]):
                score = logits[r, j] * inv_t[r] - math.log(-math.log(uniforms[r, t, j] + 1e-300))
                if k < 0 or score > best:
                    best, k = score, j
            out[r, t] = chars[r] = k
        _step(w, chars, h, c, z, a, logits)


class Stepper:
    """`batch` streams through the model, each carrying its LSTM state from character to character."""

    def __init__(self, model: Model, batch: int):
        self.weights = lstm_weights(model)
        layers, H, V = model.hparams.num_layers, model.hparams.hidden_size, model.hparams.vocab_size
        self.h, self.c = np.zeros((layers, batch, H), np.float32), np.zeros((layers, batch, H), np.float32)
        self._z, self._a = np.empty((batch, 4 * H), np.float32), np.empty((batch, H), np.float32)
        self.logits = np.zeros((batch, V), np.float32)  # after the last character read or sampled
        self._chars = np.empty(batch, np.int64)

    def read(self, codes: np.ndarray) -> np.ndarray:
        """Advance every row over its characters (B, T); the logits after the last one (B, V)."""
        inputs = np.ascontiguousarray(codes, dtype=np.int64)
        _read(self.weights, inputs, self.h, self.c, self._z, self._a, self.logits)
        return self.logits.copy()

    def sample(self, inv_temperatures: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """uniforms.shape[1] characters per row, sampled at temperature 1 / inv_temperatures[row] with
        uniforms (B, n, V) in [0, 1)."""
        out = np.empty(uniforms.shape[:2], np.int64)
        _sample(self.weights, np.asarray(inv_temperatures, np.float64), uniforms, self.h, self.c, self._z, self._a,
                self.logits, self._chars, out)
        return out
