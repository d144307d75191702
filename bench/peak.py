"""Speed against the machine's own limit: this CPU's matmul peak (a large GEMM, the same threads) and
the share of it that training (bench/loop.py's bare loop) and generation reach, from the models'
analytic FLOPs per character (charlm.model.network.forward_flops)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch

from bench.loop import bare_loop, streams
from charlm import CharDataset, LitCharRNN
from charlm.model.network import forward_flops
from charlm.params.schema import ModelParams
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


def peak_shares(data: Path, vocab: int, model_cfg: ModelParams, batches: tuple[int, ...],
                seconds: float, generation: dict[str, float]) -> dict[str, float]:
    """The fp32 (and, where native, bf16) matmul peak; training's predicted characters/s and share of the
    fp32 peak at each batch size (streams of back-to-back windows, every position predicted; training =
    3 x the forward FLOPs: forward, and backward twice as much), and with oneDNN's LSTM kernel switched
    off at the first batch size; generation's, for the model `generation` was measured with
    (LitCharRNN's defaults)."""
    fp32 = matmul_gflops(torch.float32)
    out = {"peak_fp32_gflops": fp32}
    if cpu_has_bf16():
        out["peak_bf16_gflops"] = matmul_gflops(torch.bfloat16)
    flops = forward_flops(SimpleNamespace(vocab_size=vocab, **model_cfg.model_dump()))
    ds = CharDataset(data, model_cfg.maxlen, model_cfg.maxlen, objective="every")

    def train(batch: int) -> float:
        torch.manual_seed(0)
        model = LitCharRNN(vocab, embed_dim=model_cfg.embed_dim, hidden_size=model_cfg.hidden_size,
                           num_layers=model_cfg.num_layers, dropout=model_cfg.dropout)
        return bare_loop(model, streams(ds, batch), seconds).predicted_per_s

    for batch in batches:
        rate = train(batch)
        out[f"train_b{batch}_chars_per_s"] = rate
        out[f"train_b{batch}_share"] = 3 * flops * rate / 1e9 / fp32
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "TF32 acceleration")  # flags() warns of Intel GPUs on any CPU
        with torch.backends.mkldnn.flags(enabled=False):
            out["train_no_onednn_share"] = 3 * flops * train(batches[0]) / 1e9 / fp32
    small = forward_flops(LitCharRNN(vocab).hparams)
    out["generate_1_share"] = small * generation["stateful_chars_per_s"] / 1e9 / fp32
    out["generate_21_share"] = small * generation["batched_chars_per_s"] / 1e9 / fp32
    return out
