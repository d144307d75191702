"""Stage train: data/prepared -> LitCharRNN -> models/best.ckpt, metrics/train.json, dvclive/.

The run works in models/run/ (git- and dvc-ignored): checkpoints after every epoch and a copy of
the curves. `dvc repro` deletes this stage's outputs before running it, but not models/run/, so
after Ctrl-C, SIGTERM or a crash the next `dvc repro` resumes from models/run/checkpoints/last.ckpt
when params and data are unchanged. The curves grow in dvclive/ while training runs.
"""

import shutil
from pathlib import Path

from dvclive.lightning import DVCLiveLogger

from charlm import config
from charlm.errors import cli
from charlm.files import atomic_path, write_json
from charlm.training import RunDir, check_data, fingerprint, fit

DATA = Path("data/prepared")
RUN = Path("models/run")
CHECKPOINT = Path("models/best.ckpt")
LIVE = Path("dvclive")
METRICS = Path("metrics/train.json")


def main() -> None:
    seed, model_cfg, train_cfg = config.load("seed", "model", "train")
    check_data(DATA, model_cfg.maxlen)  # before touching the run directory
    run = RunDir(RUN, log_dir=LIVE)
    resume_from = run.start(fingerprint(model_cfg, train_cfg, seed, DATA), resume=train_cfg.resume)
    # DVCLive must not touch dvc.yaml nor start experiments itself: dvc.yaml declares the plots
    logger = DVCLiveLogger(dir=str(LIVE), dvcyaml=False, save_dvc_exp=False, resume=resume_from is not None)
    best, metrics = fit(model_cfg, train_cfg, seed, DATA, run, resume_from, logger)
    with atomic_path(CHECKPOINT) as checkpoint, atomic_path(METRICS) as metrics_json:  # both or neither
        shutil.copyfile(best, checkpoint)
        write_json(metrics_json, metrics)
    run.finish()
    print("train: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))


if __name__ == "__main__":
    cli(main)
