"""Side-by-side benchmarks: `python -m bench` prints a table and writes bench/results/latest.json.

Every comparison runs both contenders in this one process, alternating, and reports their ratio:
these machines are noisy, so only ratios measured together mean anything. Speed goals live here,
never in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch

from bench.parallel import parallel
from bench.project import BOOK, project
from bench.quality import levers, quality
from charlm import CharDataset, LitCharRNN, tempered_softmax
from charlm.data import load_vocab, prepare, save_prepared
from charlm.datamodule import batches, val_batches
from charlm.generate import generate

RESULTS = Path(__file__).parent / "results"
SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared/data/tinyshakespeare.txt"


def corpus_text(chars: int) -> str:
    """Tiny Shakespeare when it is there (benchmarks only), else generated text of the same flavour."""
    if SHAKESPEARE.is_file():
        return SHAKESPEARE.read_text(encoding="utf-8")[:chars]
    rng = np.random.default_rng(0)
    words = np.array("the king and queen of my lord what thou art good night sweet prince fair love".split())
    return " ".join(rng.choice(words, chars // 4))[:chars]


def best_of(fn: Callable[[], float], repeats: int = 3) -> float:
    return min(fn() for _ in range(repeats))


def prepared_dir(chars: int) -> Path:
    out = Path(tempfile.mkdtemp(prefix="charlm-bench-"))
    save_prepared(out, *prepare(corpus_text(chars), 0.1))
    return out


def bench_training(data: Path, vocab: int, n_batches: int, batch_size: int) -> dict[str, float]:
    """Windows/s of the exercise's model: the train stage's Lightning loop vs a bare PyTorch loop."""
    ds = CharDataset(data, 40, 3)

    def bare() -> float:
        torch.manual_seed(0)
        model = LitCharRNN(vocab)
        opt = torch.optim.Adam(model.parameters(), lr=5e-3)
        loader = iter(batches(ds, batch_size))
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
        trainer = L.Trainer(max_epochs=1, limit_train_batches=n_batches, limit_val_batches=0, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                            deterministic=True, num_sanity_val_steps=0)
        start = time.perf_counter()
        trainer.fit(model, batches(ds, batch_size))
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
    predicted, start = 0, time.perf_counter()
    while True:  # as many epochs as the time allows
        for x, y in batches(ds, batch_size):
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
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    return trainer.validate(model, val_batches(data, 40), verbose=False)[0]["val_loss"]


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


def bench_generation(vocab: int, length: int) -> dict[str, float]:
    """One stream: the compiled step function (charlm.model_step) vs nn.LSTM carrying its state vs re-reading
    a 40-char window for every new character; all 7 temperatures in one batch vs one call each."""
    torch.manual_seed(0)
    model = LitCharRNN(vocab).eval()
    prompt = torch.randint(0, vocab, (40,))
    temps = [0.2, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0]

    @torch.no_grad()
    def window(n: int) -> float:
        g = torch.Generator().manual_seed(0)
        x = prompt.clone()
        start = time.perf_counter()
        for _ in range(n):
            probs = tempered_softmax(model(x[-40:][None])[0], 1.0)
            x = torch.cat([x, torch.multinomial(probs, 1, generator=g)])
        return n / (time.perf_counter() - start)

    @torch.no_grad()
    def torch_state(n: int) -> float:
        g = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        out, state = model.lstm(model.embed(prompt[None]))
        for _ in range(n):
            x = torch.multinomial(tempered_softmax(model.head(out[:, -1]), 1.0), 1, generator=g)
            out, state = model.lstm(model.embed(x), state)
        return n / (time.perf_counter() - start)

    def stateful() -> float:
        start = time.perf_counter()
        generate(model, prompt, [1.0], length)
        return length / (time.perf_counter() - start)

    generate(model, prompt, [1.0], 1)  # compile (or load numba's cache) outside the timings

    def batched() -> float:
        start = time.perf_counter()
        generate(model, prompt, temps, length)
        return time.perf_counter() - start

    def sequential() -> float:
        start = time.perf_counter()
        for t in temps:
            generate(model, prompt, [t], length)
        return time.perf_counter() - start

    w = max(window(length // 20) for _ in range(3))
    n = max(torch_state(length // 10) for _ in range(3))
    s = max(stateful() for _ in range(3))
    b, q = best_of(batched), best_of(sequential)
    return {"window_chars_per_s": w, "torch_state_chars_per_s": n, "stateful_chars_per_s": s,
            "stateful_vs_window": s / w, "stateful_vs_torch_state": s / n, "batched_vs_sequential": q / b}


# Runs one stage in this process as `python -m stages.<stage>` would, after recording the RSS its imports
# leave (torch, pandas, ...) and restarting the peak mark there (Linux: clear_refs 5); writes "base peak file"
# (bytes: RSS after the imports, peak RSS, file-backed RSS at the end, e.g. memory-mapped splits) to argv[2].
STAGE_PEAK = """\
import importlib, re, sys
from pathlib import Path
from charlm.errors import cli
status = lambda key: int(re.search(key + r':\\s+(\\d+) kB', Path('/proc/self/status').read_text())[1]) * 1024
module = importlib.import_module('stages.' + sys.argv[1])
base = status('VmRSS')
Path('/proc/self/clear_refs').write_text('5')
try:
    cli(module.main)
finally:
    Path(sys.argv[2]).write_text(f"{base} {status('VmHWM')} {status('RssFile')}")
"""


def stage_peak(stage: str, project: Path) -> dict[str, float]:
    """`stage` in a fresh process with `project` as its working directory: seconds, RSS after its imports,
    peak RSS, and file-backed RSS at the end."""
    report = project / f".{stage}.peak"
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", STAGE_PEAK, stage, str(report)], cwd=project, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"stage {stage} failed: {result.stderr.strip().splitlines()[-1:]}")
    base, peak, file_backed = map(int, report.read_text().split())
    return {"seconds": seconds, "base": base, "peak": peak, "file_backed": file_backed}


def bench_corpus_memory(megabytes: int, train_minutes: float = 1.0) -> dict[str, Any]:
    """Issue 13: a corpus larger than memory. The real download, prepare and train stages, each in its own
    fresh process, on a generated corpus (a local book in data/books/ of a temporary project) of 1 MB (tiny
    Shakespeare's size) and of `megabytes` MB; their peak RSS above the RSS after their imports: memory that
    grows with the corpus shows as bytes/char, a few buffers as ~0. Train runs `train_minutes` with the same
    100,000-character validation split for both (validation batches take memory of their own); the pages
    of the memory-mapped splits it has read count as resident while mapped (file-backed: the system can
    drop them, unlike the process's own allocations)."""
    block = corpus_text(1_000_000).encode()
    results: dict[str, Any] = {}
    for size in (1, megabytes):
        with tempfile.TemporaryDirectory(prefix="charlm-bench-") as tmp:
            book = Path(tmp) / BOOK
            project(Path(tmp), {"corpus.max_bytes": 2 * size * 1_000_000 + len(block),
                                "prepare.val_fraction": 0.1 / size,  # 100,000 characters: the same validation
                                "train.max_time": train_minutes})
            with open(book, "wb") as f:
                f.writelines(block for _ in range(max(1, size * 1_000_000 // len(block))))
            runs = {stage: stage_peak(stage, Path(tmp)) for stage in ("download", "prepare", "train")}
            chars = json.loads((Path(tmp) / "metrics/prepare.json").read_text())["characters"]
        results[f"{size}mb"] = {"corpus_bytes": book_size(size, block), "corpus_chars": chars, **{
            f"{stage}_{k}": v for stage, run in runs.items() for k, v in
            {"bytes_per_char": (run["peak"] - run["base"]) / chars, "peak_mb": run["peak"] / 1e6,
             "base_mb": run["base"] / 1e6, "file_backed_mb": run["file_backed"] / 1e6,
             "seconds": run["seconds"]}.items()}}
    return {"memory": results}


def book_size(megabytes: int, block: bytes) -> int:
    return max(1, megabytes * 1_000_000 // len(block)) * len(block)


def memory_rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The README table's rows for bench_corpus_memory: per stage, the large corpus against the 1 MB one."""
    small, big = r["memory"]["1mb"], list(r["memory"].values())[-1]
    rows = []
    for stage in ("download", "prepare", "train"):
        rows.append((f"{stage} peak RSS above its imports, {big['corpus_chars'] / 1e6:,.0f} M chars vs 1 M",
                     f"{big[f'{stage}_bytes_per_char']:.3f} bytes/char; peak {big[f'{stage}_peak_mb']:,.0f} MB"
                     f" vs {small[f'{stage}_peak_mb']:,.0f} MB",
                     f"{big[f'{stage}_peak_mb'] - small[f'{stage}_peak_mb']:+,.0f} MB; {big[f'{stage}_seconds']:,.0f} s"
                     f" vs {small[f'{stage}_seconds']:,.0f} s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--quality", type=float, metavar="MINUTES",
                        help="instead: the LSTM (params.yaml) vs a GPT of nanoGPT's CPU recipe, MINUTES each")
    parser.add_argument("--levers", type=float, metavar="MINUTES",
                        help="instead: the LSTM with each of issue 12's levers, MINUTES each")
    parser.add_argument("--only", nargs="*", type=int, metavar="N", help="with --levers: only these (numbered from 1)")
    parser.add_argument("--memory", type=int, metavar="MB",
                        help="instead: only the download/prepare/train peak RSS on a generated corpus of MB megabytes")
    parser.add_argument("--parallel", action="store_true",
                        help="instead: queued experiments with -j 1 / -j 2 and DDP, timed around real DVC commands")
    args = parser.parse_args()
    if args.parallel:
        return main_parallel()
    if args.memory:
        return main_memory(args.memory)
    if args.quality:
        return main_quality(args.quality)
    if args.levers:
        return main_levers(args.levers, args.only)
    size = dict(chars=200_000, batches=20, length=2000, mb=20, seconds=10) if args.quick else \
        dict(chars=1_115_394, batches=60, length=20000, mb=1000, seconds=120)

    data = prepared_dir(size["chars"])
    vocab = len(load_vocab(data))
    results = {
        "machine": machine(),
        **bench_training(data, vocab, size["batches"], 128),
        **bench_objectives(data, vocab, size["seconds"]),
        **bench_levers(data, vocab, size["seconds"] / 4),
        **bench_generation(vocab, size["length"]),
        **bench_corpus_memory(size["mb"]),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    rows = [
        ("training, the exercise's model, batch 128: bare PyTorch loop",
         f"{results['bare_windows_per_s']:,.0f} windows/s", ""),
        ("training: the train stage (Lightning + CharDataset)", f"{results['stage_windows_per_s']:,.0f} windows/s",
         f"{results['stage_vs_bare']:.2f}x bare"),
        (f"objective last (step 3), {results['objective_seconds']:.0f} s of training",
         f"{results['last_chars_per_s']:,.0f} predicted chars/s", f"val_loss {results['last_val_loss']:.3f}"),
        (f"objective every (step 40), {results['objective_seconds']:.0f} s of training",
         f"{results['every_chars_per_s']:,.0f} predicted chars/s",
         f"val_loss {results['every_val_loss']:.3f}; {results['every_chars_per_s'] / results['last_chars_per_s']:.0f}x"
         " the characters"),
        ("every: 1 torch thread instead of " + str(results["machine"]["torch_threads"]),
         f"{results['every_1_thread_chars_per_s']:,.0f} predicted chars/s",
         f"{results['every_1_thread_chars_per_s'] / results['every_fp32_chars_per_s']:.2f}x"),
        ("every: torch.compile of the embedding and the head", f"{results['every_compiled_chars_per_s']:,.0f} predicted"
         " chars/s", f"{results['every_compiled_chars_per_s'] / results['every_fp32_chars_per_s']:.2f}x"),
        ("every: bf16 autocast", *((f"{results['every_bf16_chars_per_s']:,.0f} predicted chars/s",
          f"{results['every_bf16_chars_per_s'] / results['every_fp32_chars_per_s']:.2f}x fp32")
          if isinstance(results["every_bf16_chars_per_s"], float) else (results["every_bf16_chars_per_s"], ""))),
        ("generation, 1 stream: re-reading the 40-char window", f"{results['window_chars_per_s']:,.0f} chars/s", ""),
        ("generation, 1 stream: nn.LSTM carrying its state", f"{results['torch_state_chars_per_s']:,.0f} chars/s", ""),
        ("generation, 1 stream: charlm's compiled step", f"{results['stateful_chars_per_s']:,.0f} chars/s",
         f"{results['stateful_vs_window']:.0f}x window, {results['stateful_vs_torch_state']:.0f}x nn.LSTM"),
        ("sampling 7 temperatures: one batch vs 7 calls", "", f"{results['batched_vs_sequential']:.1f}x faster"),
        *memory_rows(results),
    ]
    print("| benchmark | measured | ratio |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\n{json.dumps(results['machine'])}; results in {RESULTS / 'latest.json'}")


def main_memory(megabytes: int) -> None:
    """`--memory MB`: bench_corpus_memory alone, into bench/results/memory.json."""
    results = {"machine": machine(), **bench_corpus_memory(megabytes)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| benchmark | measured | ratio |\n|---|---|---|")
    for row in memory_rows(results):
        print("| " + " | ".join(row) + " |")
    print(f"\n{json.dumps(results['machine'])}; results in {RESULTS / 'memory.json'}")


def main_parallel() -> None:
    """`--parallel`: bench/parallel.py's timings, into bench/results/parallel.json."""
    data = prepared_dir(1_115_394)
    speed = bench_training(data, len(load_vocab(data)), 60, 128)["bare_windows_per_s"]  # the machine's pace
    r = {"machine": machine(), "bare_windows_per_s": speed, **parallel(corpus_text(1_115_394))}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "parallel.json").write_text(json.dumps(r, indent=2) + "\n")
    j1 = r["queue_j1_s"]
    print("| two experiments, one epoch each (`dvc exp run --run-all`) | wall time | vs -j 1 |\n|---|---|---|")
    print(f"| -j 1, train.threads null (each takes every core) | {j1:.0f} s | 1.00x |")
    print(f"| -j 2, train.threads null | {r['queue_j2_s']:.0f} s | {j1 / r['queue_j2_s']:.2f}x |")
    print(f"| -j 2, train.threads 1 | {r['queue_j2_threads1_s']:.0f} s | {j1 / r['queue_j2_threads1_s']:.2f}x |")
    print(f"\n`dvc repro -f train`, one epoch: 1 process {r['train_1_process_s']:.0f} s, 2 DDP processes of 1 thread"
          f" {r['train_2_processes_s']:.0f} s ({r['train_1_process_s'] / r['train_2_processes_s']:.2f}x)."
          f" Bare loop {speed:,.0f} windows/s; {json.dumps(r['machine'])}; results in {RESULTS / 'parallel.json'}")


def main_quality(minutes: float) -> None:
    """`--quality MINUTES`: both models on tiny Shakespeare's split (the prepare stage's), equal wall time."""
    data = prepared_dir(1_115_394)
    vocab = len(load_vocab(data))
    speed = bench_training(data, vocab, 60, 128)["bare_windows_per_s"]  # the machine's pace, to compare
    results = {"machine": machine(), "bare_windows_per_s": speed, **quality(data, vocab, minutes)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "quality.json").write_text(json.dumps(results, indent=2) + "\n")
    r = results
    print(f"| model, equal wall time (at most {minutes:g} min) | val_loss, 40-char blocks | whole-text context"
          " | trained |")
    print("|---|---|---|---|")
    print(f"| LSTM (params.yaml) | {r['lstm_val_loss']:.3f} | {r['lstm_val_loss_stateful']:.3f} (stateful) "
          f"| {r['lstm_epochs']:g} epochs, stopped by {r['lstm_stopped_by']}, {r['lstm_wall_seconds']:.0f} s |")
    print(f"| GPT (nanoGPT CPU recipe) | {r['gpt_val_loss_40']:.3f} | {r['gpt_val_loss_64']:.3f} (64-char blocks) "
          f"| {r['gpt_steps']:,} steps, {r['gpt_seconds']:.0f} s |")
    print(f"\nGPT / LSTM: {r['gpt_val_loss_40'] / r['lstm_val_loss']:.3f} on 40-char blocks; GPT (64) / LSTM (stateful):"
          f" {r['gpt_val_loss_64'] / r['lstm_val_loss_stateful']:.3f}. Bare loop {speed:,.0f} windows/s;"
          f" {json.dumps(r['machine'])}; results in {RESULTS / 'quality.json'}")


def main_levers(minutes: float, only: list[int] | None) -> None:
    """`--levers MINUTES`: the train stage's fit with params.yaml changed one lever at a time, equal time."""
    data = prepared_dir(1_115_394)
    vocab = len(load_vocab(data))
    speed = bench_training(data, vocab, 60, 128)["bare_windows_per_s"]
    rows = levers(data, minutes, only)
    after = bench_training(data, vocab, 60, 128)["bare_windows_per_s"]
    RESULTS.mkdir(exist_ok=True)
    results = {"machine": machine(), "minutes": minutes, "bare_windows_per_s": [speed, after], "rows": rows}
    out = RESULTS / "levers" / ("all.json" if not only else f"only-{'-'.join(map(str, only))}.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"| lever, {minutes:g} minutes each | val_loss | val_loss_stateful | epochs (best) | windows/s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['lever']} | {r['lstm_val_loss']:.3f} | {r['lstm_val_loss_stateful']:.3f} | {r['lstm_epochs']:g}"
              f" ({r['lstm_best_epoch']:g}) | {r['lstm_windows_per_second']:,} |")
    print(f"\nBare loop {speed:,.0f} windows/s before, {after:,.0f} after; {json.dumps(machine())};"
          f" results in {out}")


def machine() -> dict[str, object]:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__}


if __name__ == "__main__":
    main()
