"""Several trainings at once on one machine: queued DVC experiments, and DDP processes.

`python -m bench parallel` builds a throwaway project (git + DVC, the working tree's code and a
generated or tiny-Shakespeare corpus in data/books/), prepares it once, then times, each around the
real command a user runs, with a fixed amount of work (`train.max_epochs`, no time cap):

- two experiments queued and run by `dvc exp run --run-all -j 1`, `-j 2`, and `-j 2` with
  `train.threads: 1` (each experiment its own seed, so DVC's run-cache cannot answer one);
- the train stage (`dvc repro train`) in one process, and in two DDP processes of one thread each.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from bench.project import DVC, commit, copy_project, project_params, sh

BOOK = Path("data/books/corpus.txt")

WORK = {"model.hidden_size": 128, "train.max_epochs": 1, "train.max_time": None,
        "train.val_check_interval": 1.0, "sample.length": 200, "sample.count": 1}


def timed(repo: Path, *args: str) -> float:
    started = time.perf_counter()
    sh(repo, *args)
    return time.perf_counter() - started


def queued(repo: Path, jobs: int, seeds: list[int], threads: int | None) -> float:
    """Seconds for `dvc exp run --run-all -j jobs` over one experiment per seed."""
    for seed in seeds:
        sh(repo, *DVC, "exp", "run", "--queue", "-S", f"seed={seed}",
           "-S", f"train.threads={'null' if threads is None else threads}")
    return timed(repo, *DVC, "exp", "run", "--run-all", "-j", str(jobs))


def ddp(repo: Path, processes: int) -> float:
    """Seconds for `dvc repro -f train` with the training in `processes` processes."""
    extra = {"train.devices": processes, "train.strategy": "ddp", "train.accelerator": "cpu",
             "train.threads": 1} if processes > 1 else {"train.devices": 1, "train.strategy": "auto",
                                                         "train.threads": None}
    params = project_params(extra, base=repo / "params.yaml")
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return timed(repo, *DVC, "repro", "-f", "train")


def parallel(text: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="charlm-parallel-") as tmp:
        repo = copy_project(Path(tmp), {"corpus.source": str(BOOK), "corpus.sha256": "", **WORK})
        (repo / BOOK).write_text(text, encoding="utf-8")
        commit(repo)
        sh(repo, *DVC, "repro", "prepare")
        # dvc.lock: the queued experiments check out the prepared data from the cache
        commit(repo, "prepared")
        return {
            "queue_j1_s": queued(repo, 1, [1, 2], None),
            "queue_j2_s": queued(repo, 2, [3, 4], None),
            "queue_j2_threads1_s": queued(repo, 2, [5, 6], 1),
            "train_1_process_s": ddp(repo, 1),
            "train_2_processes_s": ddp(repo, 2),
        }
