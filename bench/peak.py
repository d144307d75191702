"""Speed against the machine's own limit: this CPU's matmul peak (a large GEMM, the same threads) and
the share of it that training and generation reach, from the models' analytic FLOPs per character."""

from __future__ import annotations

import time
import warnings

import torch

from charlm import CharDataset, LitCharRNN
from charlm.params.schema import ModelParams
from charlm.train.batches import StreamSampler, loader
from charlm.train.trainer import cpu_has_bf16


def matmul_gflops(dtype: torch.dtype, n: int = 2048, seconds: float = 3.0) -> float:
    """GFLOP/s of n x n matrix products in `dtype`, best of the runs within `seconds`."""
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    torch.mm(a, b)  # warm up: threads, the kernel's buffers
    best = float("inf")
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def forward_flops(vocab: int, embed: int, hidden: int, layers: int) -> int:
    """Multiply-adds x 2 to read one character and predict the next: the LSTM's gates, the dense head."""
    lstm = sum(2 * 4 * hidden * ((embed if n == 0 else hidden) + hidden) for n in range(layers))
    return lstm + 2 * (hidden * hidden + hidden * vocab)


def training_rate(data: object, model: LitCharRNN, batch: int, maxlen: int, seconds: float) -> float:
    """Predicted characters/s of plain training steps (every position; streams of windows)."""
    ds = CharDataset(data, maxlen, maxlen, objective="every")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches = iter(loader(ds, StreamSampler(len(ds), batch)))
    predicted = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        x, y = next(batches)
        loss = model.loss(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        predicted += y.numel()
    return predicted / (time.perf_counter() - started)


def peak_shares(data: object, vocab: int, model_cfg: ModelParams, batches: tuple[int, ...],
                seconds: float, generation: dict[str, float]) -> dict[str, float]:
    """The fp32 (and, where native, bf16) matmul peak; training's GFLOP/s and share of the fp32 peak at
    each batch size (training = 3 x the forward FLOPs: forward, and backward twice as much), and with
    oneDNN's LSTM kernel switched off at the first batch size; generation's, for the model
    `generation` was measured with (the exercise's: 64, 128, 1 layer)."""
    fp32 = matmul_gflops(torch.float32)
    out = {"peak_fp32_gflops": fp32}
    if cpu_has_bf16():
        out["peak_bf16_gflops"] = matmul_gflops(torch.bfloat16)
    m = model_cfg
    flops = forward_flops(vocab, m.embed_dim, m.hidden_size, m.num_layers)

    def train(batch: int) -> float:
        torch.manual_seed(0)
        model = LitCharRNN(vocab, embed_dim=m.embed_dim, hidden_size=m.hidden_size, num_layers=m.num_layers,
                           dropout=m.dropout)
        return training_rate(data, model, batch, m.maxlen, seconds)

    for batch in batches:
        rate = train(batch)
        out[f"train_b{batch}_chars_per_s"] = rate
        out[f"train_b{batch}_share"] = 3 * flops * rate / 1e9 / fp32
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "TF32 acceleration")  # flags() warns of Intel GPUs on any CPU
        with torch.backends.mkldnn.flags(enabled=False):
            out["train_no_onednn_share"] = 3 * flops * train(batches[0]) / 1e9 / fp32
    small = forward_flops(vocab, 64, 128, 1)
    out["generate_1_share"] = small * generation["stateful_chars_per_s"] / 1e9 / fp32
    out["generate_21_share"] = small * generation["batched_chars_per_s"] / 1e9 / fp32
    return out
