"""Stage train: data/prepared -> LitCharRNN -> models/best.ckpt, metrics/train.json, dvclive/.

The run works in models/run/ (git- and dvc-ignored): checkpoints at every validation and a copy of
the curves. `dvc repro` deletes this stage's outputs before running it, but not models/run/, so
after Ctrl-C, SIGTERM or a crash the next `dvc repro` resumes from models/run/checkpoints/last.ckpt
when params and data are unchanged. The curves grow in dvclive/ while training runs. With
train.devices > 1 (DDP) Lightning starts this script once more per extra process: every process
trains, only the first writes checkpoints, curves and outputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from charlm import params
from charlm.errors import cli
from charlm.files import atomic_path, write_json
from charlm.model.transplant import starting_point
from charlm.train.fit import fit
from charlm.train.rundir import RunDir

if TYPE_CHECKING:
    from lightning.pytorch.loggers import Logger

DATA = Path("data/prepared")
RUN = Path("models/run")
CHECKPOINT = Path("models/best.ckpt")
LIVE = Path("dvclive")
METRICS = Path("metrics/train.json")
WEIGHTS = Path("data/weights")  # train.init_from's checkpoints


def main() -> None:
    seed, model_cfg, train_cfg = params.load("seed", "model", "train")
    init = starting_point(train_cfg.init_from, WEIGHTS) if train_cfg.init_from else None
    run = RunDir(RUN, log_dir=LIVE)
    result = fit(model_cfg, train_cfg, seed, DATA, run, logger=live, init=init)
    if result is None:  # another process of a distributed run: the first one writes the outputs
        return
    best, metrics = result
    with atomic_path(CHECKPOINT) as checkpoint, atomic_path(METRICS) as metrics_json:  # both or neither
        shutil.copyfile(best, checkpoint)
        write_json(metrics_json, metrics)
    run.finish()
    print("train: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))


def live(resumed: bool) -> Logger:
    """DVCLive must not touch dvc.yaml nor start experiments itself: dvc.yaml declares the plots."""
    from dvclive.lightning import DVCLiveLogger  # after charlm: see charlm/__init__.py

    return DVCLiveLogger(dir=str(LIVE), dvcyaml=False, save_dvc_exp=False, resume=resumed)


if __name__ == "__main__":
    cli(main)
