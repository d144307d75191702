"""Speed, measured side by side in one process: the training loop (bare PyTorch vs the train stage),
the objectives, the throughput levers, and generation."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch

from charlm import CharDataset, LitCharRNN, tempered_softmax
from charlm.sample.generate import generate
from charlm.train.batches import ShuffledBatches, block_batches, loader
from charlm.train.trainer import quiet_lightning


def best_of(fn: Callable[[], float], repeats: int = 3) -> float:
    return min(fn() for _ in range(repeats))


def shuffled(ds: CharDataset, batch_size: int, seed: int = 0) -> torch.utils.data.DataLoader:
    """The train stage's shuffled batches (carry_state 0), in one process."""
    return loader(ds, ShuffledBatches(len(ds), batch_size, seed))


def bench_training(data: Path, vocab: int, n_batches: int, batch_size: int) -> dict[str, float]:
    """Windows/s of the exercise's model: the train stage's Lightning loop vs a bare PyTorch loop."""
    ds = CharDataset(data, 40, 3)

    def bare() -> float:
        torch.manual_seed(0)
        model = LitCharRNN(vocab)
        opt = torch.optim.Adam(model.parameters(), lr=5e-3)
        loader = iter(shuffled(ds, batch_size))
        start = time.perf_counter()
        for _ in range(n_batches):
            loss = model.loss(*next(loader))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return time.perf_counter() - start

    def lightning() -> float:
        torch.manual_seed(0)
        model = LitCharRNN(vocab)
        with quiet_lightning():
            trainer = L.Trainer(max_epochs=1, limit_train_batches=n_batches, limit_val_batches=0,
                                logger=False, enable_checkpointing=False, enable_progress_bar=False,
                                enable_model_summary=False, deterministic=True, num_sanity_val_steps=0)
            start = time.perf_counter()
            trainer.fit(model, shuffled(ds, batch_size))
            return time.perf_counter() - start

    t_bare, t_light = [], []
    for _ in range(3):  # alternate, keep the best of each
        t_bare.append(bare())
        t_light.append(lightning())
    windows = n_batches * batch_size
    return {"bare_windows_per_s": windows / min(t_bare), "stage_windows_per_s": windows / min(t_light),
            "stage_vs_bare": min(t_bare) / min(t_light)}


def bare_loop(model: LitCharRNN, ds: CharDataset, batch_size: int, seconds: float, bf16: bool = False) -> int:
    """Train for `seconds` (whole epochs and a part) with plain PyTorch; returns the characters predicted."""
    opt = torch.optim.Adam(model.parameters(), lr=model.hparams.lr)
    predicted = 0
    start = time.perf_counter()
    while True:  # as many epochs as the time allows
        for x, y in shuffled(ds, batch_size):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = model.loss(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            predicted += y.numel()
            if time.perf_counter() - start > seconds:
                return predicted


def val_loss(model: LitCharRNN, data: Path) -> float:
    """The train stage's validation loss (same loader, same Lightning validation step)."""
    with quiet_lightning():
        trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
        return trainer.validate(model, block_batches(data, "val", 40), verbose=False)[0]["val_loss"]


def bench_objectives(data: Path, vocab: int, seconds: float) -> dict[str, float]:
    """Loss on the last character (the exercise: windows every 3 chars) vs on every position (windows
    back to back), the exercise's model otherwise, each trained for the same wall time."""
    out = {}
    for objective, step in (("last", 3), ("every", 40)):
        torch.manual_seed(0)
        model = LitCharRNN(vocab)
        predicted = bare_loop(model, CharDataset(data, 40, step, objective=objective), 128, seconds)
        out[f"{objective}_chars_per_s"] = predicted / seconds
        out[f"{objective}_val_loss"] = val_loss(model, data)
    out["objective_seconds"] = seconds
    return out


def bench_levers(data: Path, vocab: int, seconds: float) -> dict[str, float | str]:
    """Throughput levers on the `every` objective: torch threads, bf16 autocast."""
    ds = CharDataset(data, 40, 40, objective="every")
    threads = torch.get_num_threads()

    def rate(n_threads: int = threads, bf16: bool = False, compiled: bool = False) -> float:
        torch.set_num_threads(n_threads)
        torch.manual_seed(0)
        model = LitCharRNN(vocab)
        if compiled:  # the plain nn.Modules around the LSTM (oneDNN's fused kernel is not compiled)
            model.embed, model.head = torch.compile(model.embed), torch.compile(model.head)
            bare_loop(model, ds, 128, 0)  # compile outside the timed loop
        try:
            return bare_loop(model, ds, 128, seconds, bf16) / seconds
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
