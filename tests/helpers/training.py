"""Training the tiny model as the train stage does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers.config import tiny


def train_tiny(prepared: Path, out: Path, seed: int = 1, log: bool = False, clock: Any = None,
               **overrides: Any) -> tuple[Path, dict[str, Any]]:
    """fit() as the train stage calls it: a fresh run folder in `out`, the tiny model; (best.ckpt,
    metrics)."""
    import time

    from dvclive.lightning import DVCLiveLogger

    from charlm.train.fit import fit
    from charlm.train.rundir import RunDir

    def logger(resumed: bool) -> DVCLiveLogger:
        return DVCLiveLogger(dir=str(out / "dvclive"), dvcyaml=False, save_dvc_exp=False, resume=resumed)

    run = RunDir(out / "run", log_dir=out / "dvclive" if log else None)
    result = fit(tiny("model"), tiny("train", **overrides), seed, prepared, run,
                 logger=logger if log else None, progress=False, clock=clock or time.monotonic)
    assert result is not None
    return result
