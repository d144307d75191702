"""Side-by-side benchmarks: `python -m bench speed` prints a table and writes bench/results/latest.json.

Every comparison runs both contenders in this one process, alternating, and reports their ratio:
these machines are noisy, so only ratios measured together mean anything. Speed goals live here,
never in the tests. The corpus is the pipeline's own book (data/books/tinyshakespeare.txt) unless
`--corpus` names another text file.

    python -m bench speed [--quick]                every speed and memory comparison (the default)
    python -m bench quality MINUTES [--seeds N]    the LSTM vs a GPT at equal training time
    python -m bench levers MINUTES [--only N ...]  the train stage with one setting changed at a time
    python -m bench memory MB                      peak memory of download/prepare/train, an MB corpus
    python -m bench parallel                       queued experiments and DDP, around real DVC commands
    python -m bench forgetting CHECKPOINT          a model's loss on the test split of --corpus
    python -m bench warmstart CHECKPOINT           a head start's validation loss before training
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from bench.explore import first_character_seconds, preview_cost
from bench.memory import bench_corpus_memory, memory_rows
from bench.parallel import parallel
from bench.peak import peak_shares
from bench.project import BOOK, corpus_text, prepared_dir
from bench.quality import forgetting, levers, quality, warm_start
from bench.speed import bare_training, bench_generation, bench_levers, bench_objectives, bench_stage
from charlm import params
from charlm.text.splits import load_vocab

RESULTS = Path(__file__).parent / "results"
BATCHES = (64, 128, 256)  # training's batch sizes measured against the matmul peak; the first is the default
PACE_SECONDS = 10  # each of the 3 bare-loop runs that give the machine's pace


def parser() -> argparse.ArgumentParser:
    """One subcommand per benchmark; `--corpus` on each."""
    top = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0],
                                  epilog="With no subcommand: speed.")
    corpus = argparse.ArgumentParser(add_help=False)
    corpus.add_argument("--corpus", type=Path, default=BOOK, help=f"the text to measure on (default: {BOOK})")
    sub = top.add_subparsers(dest="command", metavar="{speed,quality,levers,memory,parallel,forgetting}")
    speed = sub.add_parser("speed", parents=[corpus],
                           help="every speed and memory comparison, into bench/results/latest.json (the"
                                " default; about 25 minutes on 2 cores)")
    speed.add_argument("--quick", action="store_true", help="small sizes, for a smoke run (under 10 minutes)")
    speed.set_defaults(run=lambda a: main_speed(a.corpus, a.quick))
    quality_ = sub.add_parser("quality", parents=[corpus],
                              help="the LSTM (params.yaml) vs a GPT of nanoGPT's CPU recipe, at equal"
                                   " training time (the LSTM's cap: MINUTES)")
    quality_.add_argument("minutes", type=float, metavar="MINUTES")
    quality_.add_argument("--seeds", type=int, default=1, help="repeat with this many seeds")
    quality_.set_defaults(run=lambda a: main_quality(a.minutes, a.corpus, a.seeds))
    levers_ = sub.add_parser("levers", parents=[corpus],
                             help="the LSTM with each lever of bench/quality.py's LEVERS, MINUTES each")
    levers_.add_argument("minutes", type=float, metavar="MINUTES")
    levers_.add_argument("--only", nargs="+", type=int, metavar="N", help="only these (numbered from 1)")
    levers_.set_defaults(run=lambda a: main_levers(a.minutes, a.only, a.corpus))
    memory = sub.add_parser("memory", parents=[corpus],
                            help="the download/prepare/train peak RSS on a generated corpus of MB megabytes")
    memory.add_argument("megabytes", type=int, metavar="MB")
    memory.set_defaults(run=lambda a: main_memory(a.megabytes, a.corpus))
    parallel_ = sub.add_parser("parallel", parents=[corpus],
                               help="queued experiments with -j 1 / -j 2 and DDP, timed around real DVC"
                                    " commands")
    parallel_.set_defaults(run=lambda a: main_parallel(a.corpus))
    forgetting_ = sub.add_parser("forgetting", parents=[corpus],
                                 help="a model's test loss on --corpus (prepared as the pipeline would):"
                                      " what a model trained from its weights on another book still knows")
    forgetting_.add_argument("checkpoint", type=Path, metavar="CHECKPOINT")
    forgetting_.set_defaults(run=lambda a: print(json.dumps(forgetting(a.checkpoint, a.corpus))))
    warm = sub.add_parser("warmstart", help="a model started from CHECKPOINT's weights on the prepared data"
                                            " (train.init_from set), before training: its validation loss"
                                            " with new characters started unlikely vs PyTorch's rows")
    warm.add_argument("checkpoint", type=Path, metavar="CHECKPOINT")
    warm.add_argument("--data", type=Path, default=Path("data/prepared"))
    warm.set_defaults(run=lambda a: print(json.dumps(warm_start(a.checkpoint, a.data, params.load("seed")))))
    return top


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command is None:  # `python -m bench` alone: the default table
        args = parser().parse_args(["speed"])
    args.run(args)


def main_speed(book: Path, quick: bool) -> None:
    """`speed`: every speed and memory comparison, into bench/results/latest.json."""
    started = time.perf_counter()
    size = dict(chars=200_000, length=2000, mb=20, seconds=10, pace=PACE_SECONDS / 4) if quick else \
        dict(chars=1_115_394, length=20000, mb=1000, seconds=120, pace=PACE_SECONDS)
    data = prepared_dir(corpus_text(size["chars"], book))
    vocab = len(load_vocab(data))
    generation = bench_generation(vocab, size["length"])  # first: it compiles the step the samples use
    results = {
        "machine": machine(),
        **bare_training(data, vocab, size["pace"]),
        **bench_stage(data, vocab, size["seconds"]),
        **bench_objectives(data, vocab, size["seconds"]),
        **bench_levers(data, vocab, size["seconds"] / 4),
        **generation,
        **peak_shares(data, vocab, params.load("model"), BATCHES, size["seconds"] / 4, generation),
        **bench_corpus_memory(size["mb"], book),
        **first_character_seconds(data),
        **preview_cost(data),
    }
    results["bench_seconds"] = time.perf_counter() - started
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| benchmark | measured | ratio |\n|---|---|---|")
    for row in [*speed_rows(results), *peak_rows(results), *memory_rows(results)]:
        print("| " + " | ".join(row) + " |")
    print(f"\n{json.dumps(results['machine'])}; {results['bench_seconds'] / 60:.1f} min;"
          f" results in {RESULTS / 'latest.json'}")


def speed_rows(r: dict) -> list[tuple[str, str, str]]:
    """The table's rows for the speed comparisons: what, how fast, against what."""
    fp32 = r["every_fp32_chars_per_s"]
    bf16 = r["every_bf16_chars_per_s"]
    chars = "predicted chars/s"
    return [
        ("training, the exercise's model, batch 128: bare PyTorch loop (the machine's pace)",
         f"{r['bare_windows_per_s']:,.0f} windows/s", ""),
        *stage_rows(r),
        (f"objective last (step 3), {r['objective_seconds']:.0f} s of training",
         f"{r['last_chars_per_s']:,.0f} {chars}", f"val_loss {r['last_val_loss']:.3f}"),
        (f"objective every (step 40), {r['objective_seconds']:.0f} s of training",
         f"{r['every_chars_per_s']:,.0f} {chars}",
         f"val_loss {r['every_val_loss']:.3f};"
         f" {r['every_chars_per_s'] / r['last_chars_per_s']:.0f}x the characters"),
        (f"every: 1 torch thread instead of {r['machine']['torch_threads']}",
         f"{r['every_1_thread_chars_per_s']:,.0f} {chars}",
         f"{r['every_1_thread_chars_per_s'] / fp32:.2f}x"),
        ("every: torch.compile of the embedding and the head",
         f"{r['every_compiled_chars_per_s']:,.0f} {chars}", f"{r['every_compiled_chars_per_s'] / fp32:.2f}x"),
        ("every: bf16 autocast", *((f"{bf16:,.0f} {chars}", f"{bf16 / fp32:.2f}x fp32")
                                   if isinstance(bf16, float) else (bf16, ""))),
        ("generation, 1 stream: re-reading the 40-char window", f"{r['window_chars_per_s']:,.0f} chars/s",
         ""),
        ("generation, 1 stream: nn.LSTM carrying its state", f"{r['torch_state_chars_per_s']:,.0f} chars/s",
         ""),
        ("generation, 1 stream: charlm's compiled step", f"{r['stateful_chars_per_s']:,.0f} chars/s",
         f"{r['stateful_vs_window']:.0f}x window, {r['stateful_vs_torch_state']:.0f}x nn.LSTM"),
        ("generation: top-k 10", f"{r['top_k_chars_per_s']:,.0f} chars/s",
         f"{r['top_k_vs_plain']:.2f}x plain"),
        ("generation: top-p 0.9", f"{r['top_p_chars_per_s']:,.0f} chars/s",
         f"{r['top_p_vs_plain']:.2f}x plain"),
        ("sampling 7 temperatures: one batch vs 7 calls", "", f"{r['batched_vs_sequential']:.1f}x faster"),
        ("charlm explore, warm: click to the first character (median of 10)",
         f"{r['first_character_s_median']:.2f} s", f"max {r['first_character_s_max']:.2f} s"),
        ("train stage, 1 epoch: with the sample at each validation vs without",
         f"{r['train_with_preview_s']:.0f} s vs {r['train_without_preview_s']:.0f} s",
         f"{100 * r['preview_cost']:+.1f}%"),
    ]


def stage_rows(r: dict) -> list[tuple[str, str, str]]:
    """The train stage against the bare loop on the same model and batches, measured in turn."""
    before, after = r["stage_bare_runs"]
    return [
        ("training, params.yaml's model and batches: bare PyTorch loop (mean of before and after the stage)",
         f"{r['stage_bare_windows_per_s']:,.0f} windows/s", f"{before:,.0f} before, {after:,.0f} after"),
        (f"the train stage's fit (Lightning, its callbacks, carried state), {r['stage_cap_seconds']:.0f} s"
         f" cap, {r['stage_precision']}: training time, validation excluded",
         f"{r['stage_windows_per_s']:,.0f} windows/s", f"{r['stage_vs_bare']:.2f}x the bare loop"),
        (f"the same run, from its start to its last batch, validations and their samples included"
         f" ({r['stage_validations']} validations)", f"{r['stage_span_windows_per_s']:,.0f} windows/s",
         f"{r['stage_span_vs_bare']:.2f}x the bare loop"),
    ]


def peak_rows(r: dict) -> list[tuple[str, str, str]]:
    """The table's rows for speed against this CPU's own matmul peak (fp32 GEMM, the same threads)."""
    peak = r["peak_fp32_gflops"]
    rows = [("matmul peak: fp32 GEMM 2048 x 2048", f"{peak:,.0f} GFLOP/s", "1.00")]
    if "peak_bf16_gflops" in r:
        rows.append(("matmul peak: bf16 GEMM", f"{r['peak_bf16_gflops']:,.0f} GFLOP/s",
                     f"{r['peak_bf16_gflops'] / peak:.2f}x fp32"))
    for b in BATCHES:
        rows.append((f"training, params.yaml's model, batch {b}: share of the fp32 peak",
                     f"{r[f'train_b{b}_chars_per_s']:,.0f} predicted chars/s",
                     f"{r[f'train_b{b}_share']:.2f}"))
    rows += [(f"training, batch {BATCHES[0]}, oneDNN's LSTM kernel switched off", "",
              f"{r['train_no_onednn_share']:.2f}"),
             ("generation, the exercise's model, 1 stream: share of the fp32 peak", "",
              f"{r['generate_1_share']:.3f}"),
             ("generation, the sample stage's 21 rows in one batch",
              f"{r['batched_chars_per_s']:,.0f} chars/s", f"{r['generate_21_share']:.3f}")]
    return rows


def main_memory(megabytes: int, book: Path) -> None:
    """`memory MB`: bench_corpus_memory alone, into bench/results/memory.json."""
    results = {"machine": machine(), **bench_corpus_memory(megabytes, book)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| benchmark | measured | ratio |\n|---|---|---|")
    for row in memory_rows(results):
        print("| " + " | ".join(row) + " |")
    print(f"\n{json.dumps(results['machine'])}; results in {RESULTS / 'memory.json'}")


def main_parallel(book: Path) -> None:
    """`parallel`: bench/parallel.py's timings, into bench/results/parallel.json."""
    text = corpus_text(1_115_394, book)
    data = prepared_dir(text)
    speed = pace(data)
    r = {"machine": machine(), "bare_windows_per_s": speed, **parallel(text)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "parallel.json").write_text(json.dumps(r, indent=2) + "\n")
    j1 = r["queue_j1_s"]
    print("| two experiments, one epoch each (`dvc exp run --run-all`) | wall time | vs -j 1 |"
          "\n|---|---|---|")
    print(f"| -j 1, train.threads null (each takes every core) | {j1:.0f} s | 1.00x |")
    print(f"| -j 2, train.threads null | {r['queue_j2_s']:.0f} s | {j1 / r['queue_j2_s']:.2f}x |")
    print(f"| -j 2, train.threads 1 | {r['queue_j2_threads1_s']:.0f} s |"
          f" {j1 / r['queue_j2_threads1_s']:.2f}x |")
    print(f"\n`dvc repro -f train`, one epoch: 1 process {r['train_1_process_s']:.0f} s,"
          f" 2 DDP processes of 1 thread"
          f" {r['train_2_processes_s']:.0f} s ({r['train_1_process_s'] / r['train_2_processes_s']:.2f}x)."
          f" Bare loop {speed:,.0f} windows/s; {json.dumps(r['machine'])};"
          f" results in {RESULTS / 'parallel.json'}")


def main_quality(minutes: float, book: Path, seeds: int) -> None:
    """`quality MINUTES [--seeds N]`: the fair pair of bench/quality.py, into bench/results/quality.json."""
    data = prepared_dir(corpus_text(10**9, book))
    speed = pace(data)
    r = {"machine": machine(), "bare_windows_per_s": speed, **quality(data, minutes, seeds)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "quality.json").write_text(json.dumps(r, indent=2) + "\n")
    s = r["summary"]

    def cell(key: str) -> str:
        return f"{s[key]['mean']:.3f} ({s[key]['min']:.3f}-{s[key]['max']:.3f})" if seeds > 1 else \
            f"{s[key]['mean']:.3f}"

    print(f"Equal training time ({minutes:g} min cap for the LSTM, validation excluded; the GPT gets the"
          f" seconds the LSTM trained), precision {r['precision']} for both, {seeds} seed(s): mean (range)."
          " Scored on the test text: 40-character blocks, and each model's best use of context.\n")
    print("| model | test loss, 40-char blocks | test loss, best context | dynamic evaluation (lr) | trained"
          " |\n|---|---|---|---|---|")
    lstm = "; ".join(f"{x['lstm_train_seconds']:.0f} s, {x['lstm_epochs']:g} epochs, {x['lstm_stopped_by']}"
                     for x in r["runs"])
    gpt = "; ".join(f"{x['gpt_steps']:,} steps" for x in r["runs"])
    lrs = {m: ", ".join(f"{x[f'{m}_dynamic_lr']:g}" for x in r["runs"]) for m in ("lstm", "gpt")}
    print(f"| LSTM (params.yaml) | {cell('lstm_test_loss')} | {cell('lstm_test_loss_stateful')} (state"
          f" carried) | {cell('lstm_test_loss_dynamic')} ({lrs['lstm']}) | {lstm} |")
    print(f"| GPT (nanoGPT CPU recipe) | {cell('gpt_test_loss')} | {cell('gpt_test_loss_sliding')} (sliding"
          f" 64) | {cell('gpt_test_loss_dynamic')} ({lrs['gpt']}) | {gpt} |")
    print(f"\nBare loop {speed:,.0f} windows/s; {json.dumps(r['machine'])}; results in"
          f" {RESULTS / 'quality.json'}")


def main_levers(minutes: float, only: list[int] | None, book: Path) -> None:
    """`levers MINUTES [--only N ...]`: the train stage's fit with params.yaml changed one lever at a time,
    equal time."""
    data = prepared_dir(corpus_text(1_115_394, book))
    speed = pace(data)
    rows = levers(data, minutes, only)
    after = pace(data)
    RESULTS.mkdir(exist_ok=True)
    results = {"machine": machine(), "minutes": minutes, "bare_windows_per_s": [speed, after], "rows": rows}
    out = RESULTS / "levers" / ("all.json" if not only else f"only-{'-'.join(map(str, only))}.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"| lever, {minutes:g} minutes each | test_loss | test_loss_stateful | val_loss | epochs (best) |"
          " stopped by | windows/s |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['lever']} | {r['lstm_test_loss']:.3f} | {r['lstm_test_loss_stateful']:.3f} |"
              f" {r['lstm_val_loss']:.3f} | {r['lstm_epochs']:g} ({r['lstm_best_epoch']:g}) |"
              f" {r['lstm_stopped_by']} | {r['lstm_windows_per_second']:,} |")
    print(f"\nBare loop {speed:,.0f} windows/s before, {after:,.0f} after; {json.dumps(machine())};"
          f" results in {out}")


def pace(data: Path) -> float:
    """The machine's pace, to compare machines by: bare_training's windows/s."""
    return bare_training(data, len(load_vocab(data)), PACE_SECONDS)["bare_windows_per_s"]


def machine() -> dict[str, object]:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__}


if __name__ == "__main__":
    main()
