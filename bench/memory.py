"""Memory against corpus size: the real download, prepare and train stages in fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.project import copy_project, corpus_text

BOOK = Path("data/books/corpus.txt")


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


def bench_corpus_memory(megabytes: int, book: Path, train_minutes: float = 1.0) -> dict[str, Any]:
    """A corpus larger than memory. The real download, prepare and train stages, each in its own
    fresh process, on a generated corpus (a local book in data/books/ of a temporary project) of 1 MB (tiny
    Shakespeare's size) and of `megabytes` MB; their peak RSS above the RSS after their imports: memory that
    grows with the corpus shows as bytes/char, a few buffers as ~0. Train runs `train_minutes` with the same
    100,000-character validation split for both (validation batches take memory of their own); the pages
    of the memory-mapped splits it has read count as resident while mapped (file-backed: the system can
    drop them, unlike the process's own allocations)."""
    block = corpus_text(1_000_000, book).encode()
    results: dict[str, Any] = {}
    for size in (1, megabytes):
        with tempfile.TemporaryDirectory(prefix="charlm-bench-") as tmp:
            copy_project(Path(tmp), {"corpus.source": str(BOOK), "corpus.sha256": "",
                                     "corpus.max_bytes": 2 * size * 1_000_000 + len(block),
                                     # 100,000 characters: the same validation
                                     "prepare.val_fraction": 0.05 / size, "prepare.test_fraction": 0.1 / size,
                                     "train.max_time": train_minutes}, books=False)
            with open(Path(tmp) / BOOK, "wb") as f:
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
                     f"{big[f'{stage}_bytes_per_char']:.3f} bytes/char;"
                     f" peak {big[f'{stage}_peak_mb']:,.0f} MB"
                     f" vs {small[f'{stage}_peak_mb']:,.0f} MB",
                     f"{big[f'{stage}_peak_mb'] - small[f'{stage}_peak_mb']:+,.0f} MB;"
                     f" {big[f'{stage}_seconds']:,.0f} s"
                     f" vs {small[f'{stage}_seconds']:,.0f} s"))
    return rows
