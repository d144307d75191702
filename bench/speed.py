"""Speed, measured side by side in one process: the train stage against a bare PyTorch loop of the same
model and batches, the objectives, the throughput levers, and generation. Every bare-loop rate comes
from bench/loop.py's timed loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch

from bench.loop import bare_loop, shuffled, streams
from bench.project import scratch
from charlm import CharDataset, LitCharRNN, params, tempered_softmax
from charlm.params.schema import ModelParams, TrainParams
from charlm.sample.generate import generate
from charlm.train.batches import CharDataModule, block_batches
from charlm.train.fit import fit
from charlm.train.rundir import RunDir
from charlm.train.trainer import precision, quiet_lightning


def best_of(fn: Callable[[], float], repeats: int = 3) -> float:
    return min(fn() for _ in range(repeats))


def bare_training(data: Path, vocab: int, seconds: float, batch_size: int = 128) -> dict[str, float]:
    """The machine's pace: windows/s of the exercise's model (LitCharRNN's defaults, shuffled windows
    every 3 characters, the last one predicted) in a bare loop, the best of 3 runs of `seconds`."""
    ds = CharDataset(data, 40, 3)

    def rate() -> float:
        torch.manual_seed(0)
        return bare_loop(LitCharRNN(vocab), shuffled(ds, batch_size), seconds).windows_per_s

    return {"bare_windows_per_s": max(rate() for _ in range(3))}


class Span:
    """A clock for fit's time cap (time.monotonic, as its default) that keeps its first and last readings:
    the cap reads it when training starts and after every batch, so they span training from its start
    to the end of its last batch, validations included."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last = 0.0

    def __call__(self) -> float:
        self.last = time.monotonic()
        if self.first is None:
            self.first = self.last
        return self.last

    @property
    def seconds(self) -> float:
        return self.last - (self.first if self.first is not None else self.last)


def stage_run(model_cfg: ModelParams, train_cfg: TrainParams, seed: int, data: Path) -> dict[str, Any]:
    """The train stage's own `fit` in a throwaway run folder: its windows/s of training proper (fit's
    metric: validation excluded) and over Span's seconds (validations within them included)."""
    span = Span()
    run = RunDir(scratch() / "run")
    _, metrics = fit(model_cfg, train_cfg, seed, data, run, progress=False, clock=span)
    run.finish()
    windows = sum(metrics["windows_by_process"])
    return {"stage_windows_per_s": metrics["windows_per_second"],
            "stage_span_windows_per_s": windows / span.seconds,
            "stage_train_seconds": metrics["train_seconds"], "stage_span_seconds": span.seconds,
            "stage_validations": metrics["validations"], "stage_precision": metrics["precision"]}


def bench_stage(data: Path, vocab: int, seconds: float) -> dict[str, Any]:
    """The train stage's training (charlm.train.fit.fit with params.yaml: Lightning, its callbacks,
    carried state, validations, samples and checkpoints) capped at `seconds`, between two bare loops of
    `seconds / 4` on the same model, batches and precision; the stage's windows/s against their mean.
    One process on the CPU, as every rate here."""
    seed, model_cfg, train_cfg = params.load("seed", "model", "train")
    cfg = train_cfg.model_copy(update={"max_time": seconds / 60, "accelerator": "cpu", "devices": 1,
                                       "num_nodes": 1, "strategy": "auto"})
    train_set = CharDataModule(data, model_cfg, cfg, seed).train_set  # the stage's windows
    batches = streams(train_set, cfg.batch_size) if cfg.carry_state else \
        shuffled(train_set, cfg.batch_size, seed)

    def bare() -> float:
        torch.manual_seed(seed)
        model = LitCharRNN(vocab, **model_cfg.model_dump(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        return bare_loop(model, batches, seconds / 4, bf16=precision(cfg) == "bf16-mixed").windows_per_s

    before = bare()
    stage = stage_run(model_cfg, cfg, seed, data)
    after = bare()
    bare_rate = (before + after) / 2  # the machine's drift during the stage falls on both sides
    return {**stage, "stage_bare_windows_per_s": bare_rate, "stage_bare_runs": [before, after],
            "stage_cap_seconds": seconds, "stage_vs_bare": stage["stage_windows_per_s"] / bare_rate,
            "stage_span_vs_bare": stage["stage_span_windows_per_s"] / bare_rate}


def val_loss(model: LitCharRNN, data: Path) -> float:
    """The train stage's validation loss (same loader, same Lightning validation step)."""
    with quiet_lightning():
        trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
        return trainer.validate(model, block_batches(data, "val"), verbose=False)[0]["val_loss"]


def bench_objectives(data: Path, vocab: int, seconds: float) -> dict[str, float]:
    """Loss on the last character (the exercise: windows every 3 chars) vs on every position (windows
    back to back), the exercise's model otherwise, each trained for the same wall time."""
    out = {}
    for objective, step in (("last", 3), ("every", 40)):
        torch.manual_seed(0)
        model = LitCharRNN(vocab)
        rates = bare_loop(model, shuffled(CharDataset(data, 40, step, objective=objective), 128), seconds)
        out[f"{objective}_chars_per_s"] = rates.predicted_per_s
        out[f"{objective}_val_loss"] = val_loss(model, data)
    out["objective_seconds"] = seconds
    return out


def bench_levers(data: Path, vocab: int, seconds: float) -> dict[str, float | str]:
    """Throughput levers on the `every` objective: torch threads, torch.compile, bf16 autocast."""
    batches = shuffled(CharDataset(data, 40, 40, objective="every"), 128)
    threads = torch.get_num_threads()

    def rate(n_threads: int = threads, bf16: bool = False, compiled: bool = False) -> float:
        torch.set_num_threads(n_threads)
        torch.manual_seed(0)
        model = LitCharRNN(vocab)
        if compiled:  # the plain nn.Modules around the LSTM (oneDNN's fused kernel is not compiled)
            model.embed, model.head = torch.compile(model.embed), torch.compile(model.head)
            bare_loop(model, batches, 0, max_steps=1)  # compile outside the timed loop
        try:
            return bare_loop(model, batches, seconds, bf16).predicted_per_s
        finally:
            torch.set_num_threads(threads)

    out: dict[str, float | str] = {"every_fp32_chars_per_s": rate(), "every_1_thread_chars_per_s": rate(1),
                                   "every_compiled_chars_per_s": rate(compiled=True)}
    try:
        out["every_bf16_chars_per_s"] = rate(bf16=True)
    except RuntimeError as e:  # oneDNN has no bf16 LSTM on CPUs without AVX-512 BF16 / AMX
        out["every_bf16_chars_per_s"] = f"unsupported: {str(e).splitlines()[0][:80]}"
    return out


@torch.no_grad()
def window_rate(model: LitCharRNN, prompt: torch.Tensor, n: int) -> float:
    """Characters/s generated by re-reading the last 40 characters for every new one."""
    g = torch.Generator().manual_seed(0)
    x = prompt.clone()
    start = time.perf_counter()
    for _ in range(n):
        probs = tempered_softmax(model(x[-40:][None])[0], 1.0)
        x = torch.cat([x, torch.multinomial(probs, 1, generator=g)])
    return n / (time.perf_counter() - start)


@torch.no_grad()
def torch_state_rate(model: LitCharRNN, prompt: torch.Tensor, n: int) -> float:
    """Characters/s generated by nn.LSTM carrying its state, one call per character."""
    g = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    out, state = model.lstm(model.embed(prompt[None]))
    for _ in range(n):
        x = torch.multinomial(tempered_softmax(model.head(out[:, -1]), 1.0), 1, generator=g)
        out, state = model.lstm(model.embed(x), state)
    return n / (time.perf_counter() - start)


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_generation(vocab: int, length: int) -> dict[str, float]:
    """One stream: the compiled step (charlm.model.compiled) vs nn.LSTM carrying its state vs re-reading a
    40-char window for every new character; top-k and top-p against plain sampling; all 7 temperatures
    in one batch vs one call each; the sample stage's 21 rows (3 texts x 7 temperatures) in one batch."""
    torch.manual_seed(0)
    model = LitCharRNN(vocab).eval()
    prompt = torch.randint(0, vocab, (40,))
    temps = [0.2, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0]
    generate(model, prompt, [1.0], 1, top_k=5)  # compile (or load numba's cache) outside the timings
    w = max(window_rate(model, prompt, length // 20) for _ in range(3))
    n = max(torch_state_rate(model, prompt, length // 10) for _ in range(3))

    def rate(**controls: float) -> float:
        return length / best_of(lambda: seconds(lambda: generate(model, prompt, [1.0], length, **controls)))

    plain = rate()
    top_k = rate(top_k=10)
    top_p = rate(top_p=0.9)
    batched = best_of(lambda: seconds(lambda: generate(model, prompt, temps, length)))
    sequential = best_of(lambda: seconds(lambda: [generate(model, prompt, [t], length) for t in temps]))
    sample_stage = best_of(lambda: seconds(lambda: generate(model, prompt, temps * 3, length)))  # 21 rows
    return {"window_chars_per_s": w, "torch_state_chars_per_s": n, "stateful_chars_per_s": plain,
            "stateful_vs_window": plain / w, "stateful_vs_torch_state": plain / n,
            "top_k_chars_per_s": top_k, "top_p_chars_per_s": top_p, "top_k_vs_plain": top_k / plain,
            "top_p_vs_plain": top_p / plain, "batched_vs_sequential": sequential / batched,
            "batched_chars_per_s": 3 * len(temps) * length / sample_stage}
