"""The evaluate stage's metrics: the trained model on the test text, read once, three ways.

    test_loss           back-to-back blocks of 40 characters (val_loss's definition)
    test_loss_stateful  the whole text read at once, the LSTM's state carried
    test_loss_dynamic   the same, learning from each segment once it is scored (charlm.evaluate.dynamic),
                        with the learning rate the validation text chose (charlm.evaluate.search)

The weights are the trained ones again afterwards; the checkpoint is never written. All of it runs in
one torch thread: the stateful and dynamic readings go one row at a time, and on a busy 2-core machine
two threads made the stateful reading of the test text 25 times slower (5 s against 135 s).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from charlm.evaluate.dynamic import dynamic_loss, lstm_reader, one_thread
from charlm.evaluate.score import block_loss
from charlm.evaluate.search import choose, diverged, is_diverged
from charlm.model.lstm import LitCharRNN
from charlm.params.schema import EvaluateParams
from charlm.text.splits import check_scored, load_split


def evaluate(model: LitCharRNN, data_dir: Path | str, cfg: EvaluateParams) -> dict[str, Any]:
    """metrics/evaluate.json for `model` on the prepared data in `data_dir`."""
    with one_thread():
        return measured(model, data_dir, cfg)


def measured(model: LitCharRNN, data_dir: Path | str, cfg: EvaluateParams) -> dict[str, Any]:
    started = time.perf_counter()
    for split in ("val", "test"):
        check_scored(data_dir, split, model.hparams.vocab_size)
    reader = lstm_reader(model)
    choice = choose(reader, load_split(data_dir, "val"), cfg)
    searched = time.perf_counter()
    test = load_split(data_dir, "test")
    static = block_loss(model, data_dir, "test")
    dynamic = dynamic_loss(reader, test, choice.rule, cfg.segment, choice.stats)
    stateful = model.stateful_loss(test)
    if is_diverged(dynamic, stateful):
        raise diverged(dynamic, "test", choice.rule)
    return {
        "test_loss": round(static, 4),
        "test_bpc": round(static / math.log(2), 4),
        "test_loss_stateful": round(stateful, 4),
        "test_loss_dynamic": round(dynamic, 4),
        "dynamic": {**choice.rule.describe(), "segment": cfg.segment},
        "search": choice.table,
        "search_seconds": round(searched - started, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
