"""LitCharRNN's weights run one character at a time, compiled by numba, for generation.

Called one character at a time, nn.LSTM spends most of its time on framework overhead, not on the
arithmetic; this plain step over the weights does only the multiply-adds (docs/results.md compares
the two). Gates use Eigen's rational tanh (sigmoid(x) = (1 + tanh(x/2)) / 2), accurate to 3e-7
and, unlike libm's exp, vectorisable. Batch rows share every weight row.

Sampling uses the Gumbel-max trick: argmax(logits / T + Gumbel noise) is a draw from
`tempered_softmax(logits, T)` without computing the softmax, so the distribution has exactly one
implementation (`charlm.sample.temperature.tempered_softmax`), which the tests hold the sampler to.
top-k and top-p (nucleus) sampling restrict the argmax to the candidates before the noise is
added; each character keeps its own noise, so a restriction that keeps everything changes nothing.
The compiled functions release the interpreter lock (`nogil`): while one reads or writes a long
text, a server's other threads go on answering.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from charlm.model.checkpoint import TrainedModel

Weights = tuple[np.ndarray, ...]
PICKS = 16  # the nucleus's likeliest characters found one by one; past these, the rest are sorted


def lstm_weights(model: TrainedModel) -> Weights:
    """The model's weights laid out for `_step`: inputs times weights, with the embedding folded
    into layer 1's input gates (a table of V rows) and both LSTM biases summed."""
    sd = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    layers = model.hparams.num_layers
    H = model.hparams.hidden_size
    table = sd["embed.weight"] @ sd["lstm.weight_ih_l0"].T + sd["lstm.bias_ih_l0"] + sd["lstm.bias_hh_l0"]
    upper = [np.concatenate([sd[f"lstm.weight_ih_l{n}"].T, sd[f"lstm.weight_hh_l{n}"].T])
             for n in range(1, layers)]
    bias = [sd[f"lstm.bias_ih_l{n}"] + sd[f"lstm.bias_hh_l{n}"] for n in range(1, layers)]
    w = (table, sd["lstm.weight_hh_l0"].T, np.array(upper).reshape(layers - 1, 2 * H, 4 * H),
         np.array(bias).reshape(layers - 1, 4 * H), sd["head.dense.weight"].T, sd["head.dense.bias"],
         sd["head.out.weight"].T, sd["head.out.bias"])
    return tuple(np.ascontiguousarray(a, dtype=np.float32) for a in w)


@njit(cache=True, fastmath=True, nogil=True, inline="always")
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


@njit(cache=True, fastmath=True, nogil=True)
def _affine(x: np.ndarray, W: np.ndarray, out: np.ndarray) -> None:
    """out (B, N) += x (B, K) @ W (K, N), four weight rows at a time (fewer passes over `out`)."""
    K = x.shape[1]
    k = 0
    while k < K:
        n = min(4, K - k)
        for r in range(x.shape[0]):
            if n == 4:
                x0 = x[r, k]
                x1 = x[r, k + 1]
                x2 = x[r, k + 2]
                x3 = x[r, k + 3]
                for j in range(out.shape[1]):
                    out[r, j] += x0 * W[k, j] + x1 * W[k + 1, j] + x2 * W[k + 2, j] + x3 * W[k + 3, j]
            else:
                for i in range(n):
                    for j in range(out.shape[1]):
                        out[r, j] += x[r, k + i] * W[k + i, j]
        k += n


@njit(cache=True, fastmath=True, nogil=True)
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


@njit(cache=True, fastmath=True, nogil=True)
def _step(w: Weights, chars: np.ndarray, h: np.ndarray, c: np.ndarray, z: np.ndarray, a: np.ndarray,
          logits: np.ndarray) -> None:
    """Read one character per row: the states h, c (layers, B, H) advance, next-character logits (B, V)
    are written."""
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


@njit(cache=True, fastmath=True, nogil=True)
def _read(w: Weights, inputs: np.ndarray, h: np.ndarray, c: np.ndarray, z: np.ndarray, a: np.ndarray,
          logits: np.ndarray) -> None:
    for t in range(inputs.shape[1]):
        _step(w, inputs[:, t], h, c, z, a, logits)


@njit(cache=True, fastmath=True, nogil=True)
def _trace(w: Weights, inputs: np.ndarray, h: np.ndarray, c: np.ndarray, z: np.ndarray, a: np.ndarray,
           logits: np.ndarray, cells: np.ndarray, every: np.ndarray) -> None:
    """_read one row, keeping after each character its cell states (T, layers, H) and logits (T, V)."""
    for t in range(inputs.shape[1]):
        _step(w, inputs[:, t], h, c, z, a, logits)
        cells[t] = c[:, 0]
        every[t] = logits[0]


@njit(cache=True, fastmath=True, nogil=True)
def _next_likeliest(logits: np.ndarray, taken: np.ndarray) -> int:
    """The likeliest character not taken yet (the first of equals), marked as taken."""
    best = 0
    k = -1
    for j in range(logits.shape[0]):
        if not taken[j] and (k < 0 or logits[j] > best):
            best = logits[j]
            k = j
    taken[k] = True
    return k


@njit(cache=True, fastmath=True, nogil=True)
def _candidates(logits: np.ndarray, inv_t: float, top_k: int, top_p: float, order: np.ndarray,
                taken: np.ndarray) -> int:
    """How many of the likeliest characters stay candidates: at most `top_k` (0: all), and of those the
    fewest whose tempered probabilities add up to `top_p` (the nucleus). They are order[:n], most
    likely first (equals in vocabulary order); n == V leaves `order` unset (every character is one).
    Picked one by one (a few passes over V for the usual k and p), not sorted: no allocation."""
    V = logits.shape[0]
    n = V if top_k <= 0 else min(top_k, V)
    if n == V and top_p >= 1.0:
        return V
    taken[:] = False
    top = np.max(logits)
    total = 0.0
    if n == V:  # the nucleus of all characters: their mass first
        for j in range(V):
            total += math.exp((logits[j] - top) * inv_t)
    else:
        for i in range(n):
            order[i] = _next_likeliest(logits, taken)
            total += math.exp((logits[order[i]] - top) * inv_t)
    mass = 0.0
    for i in range(n):
        if n == V and i == PICKS:  # a flat distribution: sorting the rest is cheaper than picking on
            order[:] = np.argsort(-logits, kind="mergesort")
        elif n == V and i < PICKS:
            order[i] = _next_likeliest(logits, taken)
        mass += math.exp((logits[order[i]] - top) * inv_t)
        if mass >= top_p * total:
            return i + 1
    return n


@njit(cache=True, fastmath=True, nogil=True)
def _draw(logits: np.ndarray, inv_t: float, top_k: int, top_p: float, uniforms: np.ndarray,
          order: np.ndarray, taken: np.ndarray) -> int:
    """argmax(logits / T - log(-log(u))) over the candidates (Gumbel-max): a draw from the tempered
    softmax restricted to them. inv_t 0 means greedy: the first likeliest character."""
    V = logits.shape[0]
    if inv_t == 0.0:
        return np.argmax(logits)
    n = _candidates(logits, inv_t, top_k, top_p, order, taken)
    best = 0.0
    k = -1  # fastmath assumes no infinities: the first score starts the search
    for i in range(n):
        j = i if n == V else order[i]
        score = logits[j] * inv_t - math.log(-math.log(uniforms[j] + 1e-300))
        if k < 0 or score > best:
            best = score
            k = j
    return k


@njit(cache=True, fastmath=True, nogil=True)
def _sample(w: Weights, inv_t: np.ndarray, top_k: np.ndarray, top_p: np.ndarray, uniforms: np.ndarray,
            h: np.ndarray, c: np.ndarray, z: np.ndarray, a: np.ndarray, logits: np.ndarray, chars: np.ndarray,
            out: np.ndarray) -> None:
    """out (B, n): per row a character drawn from the logits, then one step on that character."""
    order = np.empty(logits.shape[1], np.int64)
    taken = np.empty(logits.shape[1], np.bool_)
    for t in range(out.shape[1]):
        for r in range(out.shape[0]):
            chars[r] = _draw(logits[r], inv_t[r], top_k[r], top_p[r], uniforms[r, t], order, taken)
            out[r, t] = chars[r]
        _step(w, chars, h, c, z, a, logits)


def candidates(logits: np.ndarray, temperature: float, top_k: int = 0, top_p: float = 1.0) -> np.ndarray:
    """The characters a draw from `logits` may pick (indices, likeliest first) under top-k and top-p
    at `temperature` (> 0): what the compiled sampler uses, for tests and the explorer."""
    logits = np.ascontiguousarray(logits, dtype=np.float32)
    order = np.empty(len(logits), np.int64)
    n = _candidates(logits, 1.0 / temperature, top_k, top_p, order, np.empty(len(logits), np.bool_))
    return np.argsort(-logits, kind="stable") if n == len(logits) else order[:n].copy()


class Stepper:
    """`batch` streams through the model, each carrying its LSTM state from character to character."""

    def __init__(self, model: TrainedModel, batch: int):
        self.weights = lstm_weights(model)
        layers = model.hparams.num_layers
        H = model.hparams.hidden_size
        V = model.hparams.vocab_size
        self.h = np.zeros((layers, batch, H), np.float32)  # hidden states
        self.c = np.zeros((layers, batch, H), np.float32)  # cell states
        self._z = np.empty((batch, 4 * H), np.float32)  # gate pre-activations
        self._a = np.empty((batch, H), np.float32)  # the dense layer's output
        self.logits = np.zeros((batch, V), np.float32)  # after the last character read or sampled
        self._chars = np.empty(batch, np.int64)

    def read(self, codes: np.ndarray) -> np.ndarray:
        """Advance every row over its characters (B, T); the logits after the last one (B, V)."""
        inputs = np.ascontiguousarray(codes, dtype=np.int64)
        _read(self.weights, inputs, self.h, self.c, self._z, self._a, self.logits)
        return self.logits.copy()

    def trace(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance a single row over its characters (T,); after each one, the cell states of every layer
        (T, layers, H) and the next-character logits (T, V)."""
        inputs = np.ascontiguousarray(codes, dtype=np.int64)[None]
        layers, _, hidden = self.c.shape
        cells = np.empty((inputs.shape[1], layers, hidden), np.float32)
        every = np.empty((inputs.shape[1], self.logits.shape[1]), np.float32)
        _trace(self.weights, inputs, self.h, self.c, self._z, self._a, self.logits, cells, every)
        return cells, every

    def sample(self, inv_temperatures: np.ndarray, top_k: np.ndarray, top_p: np.ndarray,
               uniforms: np.ndarray) -> np.ndarray:
        """uniforms.shape[1] characters per row, drawn at temperature 1 / inv_temperatures[row] (0: greedy)
        from the row's top_k likeliest (0: all) and their top_p nucleus, with uniforms (B, n, V) in [0, 1)."""
        out = np.empty(uniforms.shape[:2], np.int64)
        controls = (np.asarray(inv_temperatures, np.float64), np.asarray(top_k, np.int64),
                    np.asarray(top_p, np.float64))
        state = (self.h, self.c, self._z, self._a, self.logits, self._chars)
        _sample(self.weights, *controls, uniforms, *state, out)
        return out
