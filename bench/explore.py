"""The explorer and the samples while training, measured: the click-to-first-character time of a warm
`charlm explore` (through its own API, as the page calls it), and the train stage with and without
its sample at every validation."""

from __future__ import annotations

import time
from pathlib import Path

from bench.project import scratch
from charlm import params
from charlm.model.checkpoint import save
from charlm.model.lstm import LitCharRNN
from charlm.text.splits import load_vocab
from charlm.train.fit import fit
from charlm.train.rundir import RunDir


def first_character_seconds(data: Path, requests: int = 10) -> dict[str, float]:
    """Seconds from submitting Write (400 characters) to the first streamed piece, on a warm server with
    the default model's shape (its speed does not depend on its training)."""
    from gradio_client import Client

    from charlm.app.page import serve

    _, model_cfg = params.load("seed", "model")
    vocab = load_vocab(data)
    model = LitCharRNN(len(vocab), **model_cfg.model_dump(), vocab=vocab)
    path = scratch() / "best.ckpt"
    save(model, path)
    blocks = serve(path, None, data, data / "no-dvclive", block=False)
    try:
        client = Client(blocks.local_url, verbose=False)
        times = []
        for seed in range(requests + 1):  # the first one warms up
            started = time.perf_counter()
            job = client.submit("ROMEO:\n", 0.8, 0, 1.0, 400, seed, False, api_name="/write")
            next(iter(job))
            times.append(time.perf_counter() - started)
            job.result()
    finally:
        blocks.close()
    warm = sorted(times[1:])
    return {"first_character_s_median": warm[len(warm) // 2], "first_character_s_max": warm[-1]}


def preview_cost(data: Path) -> dict[str, float]:
    """The train stage's fit for one epoch (validating every quarter) with its 200-character sample at each
    validation and without: seconds of each and their ratio."""
    seed, model_cfg, train_cfg = params.load("seed", "model", "train")
    seconds = {}
    for chars in (0, 200, 0, 200):  # alternate: the machine's drift falls on both
        cfg = train_cfg.model_copy(update=dict(max_epochs=1, max_time=None, preview_chars=chars,
                                               decay_start=10**9))
        run = RunDir(scratch() / "run")
        started = time.perf_counter()
        fit(model_cfg, cfg, seed, data, run, progress=False)
        seconds.setdefault(chars, []).append(time.perf_counter() - started)
        run.finish()
    without = min(seconds[0])
    with_preview = min(seconds[200])
    return {"train_without_preview_s": without, "train_with_preview_s": with_preview,
            "preview_cost": with_preview / without - 1}
