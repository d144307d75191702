"""Quality at equal training time, fairly: the pipeline's LSTM against a GPT of nanoGPT's CPU recipe.

Both train on the same split of the same text, one after the other in this process, for the same
seconds of training proper: the LSTM runs the train stage's own `fit` with params.yaml (its time cap
set to the budget; its validations for early stopping and the decay are its own and do not count),
the GPT (bench/gpt.py) gets the seconds the LSTM trained. One precision policy for both: bfloat16
autocast where the CPU computes it natively, else fp32. Both are scored on the held-out test text,
read once at the end, in two ways: back-to-back blocks of 40 characters (each character predicted
from 1 to 40 characters before it: val_loss's definition), and each model's best use of context:
the LSTM reading the whole text with its state carried, the GPT with a sliding window (every
character after a full 64-character block); and with dynamic evaluation as the evaluate stage runs it
(charlm.evaluate: each segment scored, then learnt from), each model's learning rate chosen on the
end of the validation text from params.yaml's `evaluate.lrs`. `--seeds N` repeats both N times:
mean and range.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench.gpt import block_loss, gpt_reader, sliding_loss, train_gpt
from bench.project import scratch
from charlm import params
from charlm.evaluate.dynamic import Reader, dynamic_loss, lstm_reader, one_thread
from charlm.evaluate.score import block_loss as lstm_block_loss
from charlm.evaluate.score import trained_model
from charlm.evaluate.search import choose
from charlm.text.splits import load_split, load_vocab
from charlm.train.fit import fit
from charlm.train.rundir import RunDir
from charlm.train.trainer import precision


def dynamic(reader: Reader, data: Path) -> dict[str, Any]:
    """The test text read with dynamic evaluation, the learning rate chosen on the validation text."""
    cfg = params.load("evaluate")
    choice = choose(reader, load_split(data, "val").long(), cfg)
    loss = dynamic_loss(reader, load_split(data, "test").long(), choice.rule, cfg.segment, choice.stats)
    return {"test_loss_dynamic": round(loss, 4), "dynamic_lr": choice.rule.lr}


def train_lstm(data: Path, minutes: float, seed: int | None = None, **overrides: Any) -> dict[str, Any]:
    """The train stage's training with params.yaml, capped at `minutes`; `overrides` are params
    such as `train.weight_decay=0.1` (the dots written as "__": train__weight_decay=0.1)."""
    params_seed, model_cfg, train_cfg = params.load("seed", "model", "train")
    sections: dict[str, dict[str, Any]] = {"model": {}, "train": {"max_time": minutes}}
    for key, value in overrides.items():
        section, name = key.split("__")
        sections[section][name] = value
    model_cfg = model_cfg.model_copy(update=sections["model"])
    train_cfg = train_cfg.model_copy(update=sections["train"])
    run = RunDir(scratch("charlm-quality-") / "run")
    seed = params_seed if seed is None else seed
    best, metrics = fit(model_cfg, train_cfg, seed, data, run, progress=False)
    model = trained_model(best, load_vocab(data))  # scored on the test text as the evaluate stage does
    with one_thread():
        metrics["test_loss"] = round(lstm_block_loss(model, data, "test"), 4)
        metrics["test_loss_stateful"] = round(model.stateful_loss(load_split(data, "test")), 4)
    metrics.update(dynamic(lstm_reader(model), data))
    run.finish()
    print(f"bench: test_loss {metrics['test_loss']}, test_loss_stateful {metrics['test_loss_stateful']},"
          f" val_loss {metrics['val_loss']}, {metrics['epochs']} epochs, {metrics['stopped_by']}", flush=True)
    return {f"lstm_{k}": metrics[k] for k in (
        "test_loss", "test_loss_stateful", "test_loss_dynamic", "dynamic_lr", "val_loss", "val_loss_stateful",
        "epochs", "stopped_by",
        "train_seconds", "wall_seconds", "windows_per_second", "decay_reason", "best_epoch", "precision")}


def fair_pair(data: Path, minutes: float, seed: int) -> dict[str, Any]:
    """The LSTM for `minutes`, then the GPT for the seconds the LSTM trained; both on the test text."""
    lstm = train_lstm(data, minutes, seed)
    bf16 = lstm["lstm_precision"] == "bf16-mixed"
    seconds = lstm["lstm_train_seconds"]
    model, steps = train_gpt(load_split(data, "train").long(), len(load_vocab(data)), seconds, seed, bf16)
    test = load_split(data, "test").long()
    gpt = {f"gpt_{k}": v for k, v in dynamic(gpt_reader(model), data).items()}
    return {**lstm, **gpt, "gpt_test_loss": block_loss(model, test, 40),
            "gpt_test_loss_sliding": sliding_loss(model, test), "gpt_steps": steps, "gpt_seconds": seconds,
            "seed": seed}


def quality(data: Path, minutes: float, seeds: int) -> dict[str, Any]:
    """`seeds` fair pairs (params.yaml's seed, then the next ones): every run, and each score's mean
    and range."""
    first = params.load("seed")
    runs = [fair_pair(data, minutes, first + i) for i in range(seeds)]
    scores = ("lstm_test_loss", "lstm_test_loss_stateful", "lstm_test_loss_dynamic", "gpt_test_loss",
              "gpt_test_loss_sliding", "gpt_test_loss_dynamic")
    summary = {k: {"mean": statistics.mean(r[k] for r in runs), "min": min(r[k] for r in runs),
                   "max": max(r[k] for r in runs)} for k in scores}
    return {"minutes": minutes, "seeds": seeds, "precision": precision(params.load("train")), "runs": runs,
            "summary": summary}


LEVERS: list[tuple[str, dict[str, Any]]] = [  # each changes params.yaml in one or two respects
    ("params.yaml", {}),
    ("dropout 0.2 (the exercise's)", {"model__dropout": 0.2}),
    ("dropout 0.2, batch 128", {"model__dropout": 0.2, "train__batch_size": 128}),
    ("dropout 0.2, windows of 64 characters", {"model__dropout": 0.2, "model__maxlen": 64}),
    ("weight decay 0.1", {"train__weight_decay": 0.1}),
    ("batch 128", {"train__batch_size": 128}),
    ("windows of 64 characters", {"model__maxlen": 64}),
    ("192 units", {"model__hidden_size": 192}),
    ("batch 128, 320 units", {"train__batch_size": 128, "model__hidden_size": 320}),
    ("lr 0.015", {"train__lr": 0.015}),
    ("params.yaml again (the machine's drift)", {}),
    ("384 units, dropout 0.2 (for longer runs)", {"model__hidden_size": 384, "model__dropout": 0.2}),
    ("the last weights, no moving average (ema 0)", {"train__ema": 0.0}),
    ("the decay over 30 % of the run", {"train__decay": 0.3}),
    ("fp32 (train.precision 32-true)", {"train__precision": "32-true"}),
    ("bf16 (train.precision bf16-mixed)", {"train__precision": "bf16-mixed"}),
]


def levers(data: Path, minutes: float, only: list[int] | None = None) -> list[dict[str, Any]]:
    """Each lever (or those numbered in `only`, from 1) trained for `minutes`, one after the other."""
    rows = []
    for number, (name, overrides) in enumerate(LEVERS, start=1):
        if only and number not in only:
            continue
        print(f"bench: {number}. {name} ({minutes:g} min)", flush=True)
        rows.append({"lever": name, "overrides": overrides,
                     **train_lstm(data, minutes, **overrides)})
    return rows


def forgetting(checkpoint: Path, book: Path) -> dict[str, Any]:
    """How well a model (one trained from another's weights, say) still knows `book`: its test split,
    prepared as the prepare stage would with the model's characters added, in 40-character blocks and
    read whole."""
    from charlm.model.checkpoint import load_checkpoint
    from charlm.text.prepare import prepare

    vocab = load_checkpoint(checkpoint).vocab
    cfg = params.load("prepare")
    data = scratch()
    prepared = prepare(book, data, cfg.val_fraction, cfg.test_fraction, extra=vocab)
    if prepared.idx2char != vocab:
        unknown = "".join(sorted(set(prepared.idx2char) - set(vocab)))
        raise SystemExit(f"{book} has characters the model never saw: {unknown!r}")
    model = trained_model(checkpoint, vocab)
    with one_thread():
        return {"checkpoint": str(checkpoint), "book": str(book),
                "test_loss": round(lstm_block_loss(model, data, "test"), 4),
                "test_loss_stateful": round(model.stateful_loss(load_split(data, "test")), 4)}


def warm_start(checkpoint: Path, data: Path, seed: int) -> dict[str, Any]:
    """A model started from `checkpoint`'s weights on the prepared data in `data` (prepared with
    train.init_from set, so its vocabulary holds the checkpoint's characters), before any training: its
    validation loss and the probability it gives the new characters, with their rows started as
    charlm.model.transplant starts them and as PyTorch made them."""
    import torch

    from charlm import LitCharRNN
    from charlm.model.checkpoint import load_checkpoint
    from charlm.model.transplant import BY_CHARACTER, transplant
    from charlm.train.batches import block_batches

    source = load_checkpoint(checkpoint)
    vocab = load_vocab(data)
    shape = {k: getattr(source.hparams, k) for k in ("maxlen", "embed_dim", "hidden_size", "num_layers")}
    torch.manual_seed(seed)
    model = LitCharRNN(len(vocab), **shape, vocab=vocab).eval()
    pytorch_rows = {k: v.clone() for k, v in model.state_dict().items()}
    new = [vocab.index(c) for c in transplant(model, vocab, source, load_split(data, "train"))]

    def scored() -> dict[str, float]:
        with torch.inference_mode():
            x, y = next(iter(block_batches(data, "val")))
            share = model.every_logits(x).softmax(-1)[..., new].sum(-1).mean().item()
        return {"val_loss": round(lstm_block_loss(model, data, "val"), 4),
                "new_characters_share": round(share, 4)}

    started = scored()
    state = model.state_dict()
    for name in BY_CHARACTER:
        state[name][new] = pytorch_rows[name][new]
    return {"checkpoint": str(checkpoint), "new_characters": len(new), "started_unlikely": started,
            "pytorch_rows": scored()}
