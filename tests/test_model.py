"""LitCharRNN's shape and checkpoint, and real (tiny) Lightning training runs."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny
from dvclive.lightning import DVCLiveLogger

from charlm.data import CharDataset, load_split, load_vocab
from charlm.datamodule import stream_batches, val_batches
from charlm.errors import CharlmError
from charlm.model import LitCharRNN, lr_factor
from charlm.model_step import load_checkpoint
from charlm.training import RunDir, fit, trainer_for


def train(prepared_dir: Path, out: Path, seed: int = 1, log: bool = False, clock=time.monotonic, **overrides):
    """fit() as the train stage calls it: a fresh run directory, the tiny model; (best.ckpt, metrics)."""
    model_cfg, train_cfg = tiny("model"), tiny("train", **overrides)
    run = RunDir(out / "run")
    logger = (lambda resumed: DVCLiveLogger(dir=str(out / "dvclive"), dvcyaml=False, save_dvc_exp=False)) if log else None
    return fit(model_cfg, train_cfg, seed, prepared_dir, run, logger=logger, progress=False, clock=clock)


def test_exercise_defaults():
    m = LitCharRNN(30)
    assert dict(m.hparams) == {"vocab_size": 30, "embed_dim": 64, "hidden_size": 128, "dropout": 0.2,
                               "lr": 5e-3, "num_layers": 2, "maxlen": 40, "schedule": "constant", "warmup": 0.0,
                               "weight_decay": 0.0, "carry_state": False}
    assert m.lstm.num_layers == 2 and m.lstm.hidden_size == 128 and m.embed.embedding_dim == 64
    assert [name for name, _ in m.head.named_children()] == ["dropout1", "dense", "relu", "dropout2", "out"]


def test_output_shapes():
    m = LitCharRNN(30, embed_dim=8, hidden_size=16)
    x = torch.randint(0, 30, (5, 40))
    assert m(x).shape == (5, 30)
    assert m.every_logits(x).shape == (5, 40, 30)
    assert torch.allclose(m.eval()(x), m.every_logits(x)[:, -1])


def test_tiny_training_learns_and_saves_a_ready_checkpoint(prepared_dir, tmp_path):
    best, metrics = train(prepared_dir, tmp_path, log=True)
    vocab = load_vocab(prepared_dir)
    assert metrics["epochs"] == 2 and metrics["stopped_by"] == "max_epochs" and metrics["validations"] == 2
    assert math.isfinite(metrics["val_loss"]) and metrics["val_loss"] < math.log(len(vocab))
    assert metrics["val_bpc"] == pytest.approx(metrics["val_loss"] / math.log(2), abs=2e-4)
    assert 0 < metrics["val_acc"] <= 1 and metrics["windows_per_second"] > 0

    model = LitCharRNN.load_from_checkpoint(best, weights_only=True)
    assert model.vocab == vocab and model.hparams.maxlen == 16 and model.hparams.hidden_size == 16
    assert load_checkpoint(best, vocab=vocab).hparams.maxlen == 16  # the same checkpoint, read without Lightning
    with pytest.raises(CharlmError, match="was trained on a different vocabulary than the prepared data"):
        load_checkpoint(best, vocab=[*vocab[:-1], "\u2603"])
    assert (tmp_path / "dvclive/plots/metrics/val/loss.tsv").read_text().count("\n") == 3  # header + 2 epochs
    assert metrics["val_loss_stateful"] == round(model.stateful_loss(load_split(prepared_dir, "val")), 4)


def test_every_objective_with_cosine_schedule(prepared_dir, tmp_path):
    _, metrics = train(prepared_dir, tmp_path, log=True, objective="every", schedule="cosine", warmup=0.2,
                       max_epochs=3, step=16)
    assert metrics["epochs"] == 3 and metrics["val_loss"] < math.log(len(load_vocab(prepared_dir)))
    assert metrics["predicted_chars_per_second"] == pytest.approx(16 * metrics["windows_per_second"], rel=0.01)
    lr = [float(line.split("\t")[-1]) for line in
          (tmp_path / "dvclive/plots/metrics/lr-AdamW/weights.tsv").read_text().splitlines()[1:]]
    top = lr.index(max(lr))
    assert 0 < top < len(lr) - 1 and lr[-1] >= 0.1 * tiny("train").lr  # warms up, then decays to >= lr/10
    assert lr[:top + 1] == sorted(lr[:top + 1]) and lr[top:] == sorted(lr[top:], reverse=True)


def test_lr_factor():
    assert [round(lr_factor(s, warmup=4, total=104), 3) for s in (0, 3, 4, 54, 104, 200)] == \
        [0.25, 1.0, 1.0, 0.55, 0.1, 0.1]


def test_cosine_schedule_needs_an_epoch_count():
    with pytest.raises(CharlmError, match="train.schedule=cosine spans train.max_epochs: set it"):
        tiny("train", schedule="cosine", max_epochs=None)


def test_early_stopping_ends_a_run_that_stops_improving(prepared_dir, tmp_path):
    _, metrics = train(prepared_dir, tmp_path, lr=1e-12, patience=2, max_epochs=10, val_check_interval=0.5)
    assert metrics["stopped_by"] == "early_stopping" and metrics["epochs"] < 10
    assert metrics["validations"] == 3  # patience counts validations: the first, then two without progress
    assert metrics["epochs"] == 1.5


def test_wsd_reaches_its_floor_before_the_time_cap(prepared_dir, tmp_path):
    """A clock that counts batches as seconds: the cap falls at batch 100, whatever the machine's speed."""
    batches = itertools.count()
    _, metrics = train(prepared_dir, tmp_path, schedule="wsd", max_epochs=None, max_time=100 / 60,
                       decay_patience=4, patience=5, clock=lambda: next(batches))
    assert metrics["stopped_by"] == "max_time"
    assert metrics["decay_reason"] in ("max_time", "plateau") and metrics["decay_start_step"] <= 76
    assert metrics["final_lr"] == pytest.approx(0.1 * tiny("train").lr)  # down at the floor before the cap
    assert metrics["epochs"] == round(100 / batches_per_epoch(prepared_dir), 2)


def batches_per_epoch(prepared_dir: Path) -> int:
    cfg = tiny("train")
    return math.ceil(len(CharDataset(prepared_dir, tiny("model").maxlen, cfg.step)) / cfg.batch_size)


def test_wsd_decay_start_repeats_a_run(prepared_dir, tmp_path):
    first = train(prepared_dir, tmp_path / "a", schedule="wsd", max_epochs=3, decay_patience=4, patience=5)[1]
    assert first["decay_reason"] == "max_epochs" and first["stopped_by"] == "max_epochs"
    assert first["final_lr"] == pytest.approx(0.1 * tiny("train").lr)
    again = train(prepared_dir, tmp_path / "b", schedule="wsd", max_epochs=3, decay_patience=4, patience=5,
                  decay_start=first["decay_start_step"])[1]
    assert again["decay_reason"] == "decay_start" and again["val_loss"] == first["val_loss"]


def test_bf16_training_validates_in_fp32(prepared_dir, tmp_path):
    """bf16-mixed where the CPU computes bfloat16 natively; elsewhere a one-line refusal."""
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        with pytest.raises(CharlmError, match="train.precision=bf16-mixed needs a CPU with AVX-512 BF16 or AMX"):
            train(prepared_dir, tmp_path, precision="bf16-mixed")
        return
    best, metrics = train(prepared_dir, tmp_path, precision="bf16-mixed")
    assert metrics["precision"] == "bf16-mixed"
    model = LitCharRNN.load_from_checkpoint(best, weights_only=True).eval()
    with torch.inference_mode():
        losses = [(model.loss(x, y).item(), y.numel()) for x, y in val_batches(prepared_dir, 16)]
    fp32 = sum(loss * n for loss, n in losses) / sum(n for _, n in losses)
    assert metrics["val_loss"] == pytest.approx(fp32, abs=1e-4)  # validated in fp32, not bf16


def test_stateful_loss_reads_the_whole_text():
    torch.manual_seed(0)
    model = LitCharRNN(5, embed_dim=4, hidden_size=8).eval()
    codes = torch.randint(0, 5, (1000,))
    direct = F.cross_entropy(model.every_logits(codes[None, :-1])[0], codes[1:]).item()
    assert model.stateful_loss(codes, chunk=64) == pytest.approx(direct, rel=1e-5)


def test_stream_batches_continue_each_row_where_it_ended(prepared_dir):
    """Row r of batch k + 1 starts where row r of batch k ended: each row reads its stretch of the text."""
    ds = CharDataset(prepared_dir, 16, 16, objective="every")
    loader = stream_batches(ds, 4)
    xs, ys = zip(*loader, strict=True)
    assert len(xs) == len(loader) == len(ds) // 4
    codes, per_stream = load_split(prepared_dir, "train").long(), len(ds) // 4
    for r in range(4):
        start = r * per_stream * 16
        assert torch.equal(torch.cat([x[r] for x in xs]), codes[start:start + per_stream * 16])
        assert torch.equal(torch.cat([y[r] for y in ys]), codes[start + 1:start + per_stream * 16 + 1])


def consecutive_batches(rows: int) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """Random codes (rows, 33) and two `every` batches of 16-character windows, the second continuing the first."""
    codes = torch.randint(0, 7, (rows, 33))
    return codes, (codes[:, :16], codes[:, 1:17]), (codes[:, 16:32], codes[:, 17:33])


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")  # training_step outside a Trainer
def test_carry_state_starts_each_batch_where_the_last_ended():
    """Training on two consecutive batches with carry_state = one pass over the joined text (no dropout)."""
    torch.manual_seed(0)
    model = LitCharRNN(7, embed_dim=4, hidden_size=8, dropout=0.0, carry_state=1.0)
    codes, first, second = consecutive_batches(rows=3)
    model.training_step(first, 0)
    carried = model.training_step(second, 1).item()
    joined = F.cross_entropy(model.every_logits(codes[:, :32])[:, 16:].flatten(0, 1), codes[:, 17:33].flatten())
    assert carried == pytest.approx(joined.item(), rel=1e-5)
    fresh = model.training_step(second, 0).item()  # batch 0: a new epoch starts from zeros
    assert fresh == pytest.approx(model.loss(*second).item(), rel=1e-5) and fresh != pytest.approx(carried)


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")  # training_step outside a Trainer
def test_carry_state_below_one_starts_the_other_rows_from_zeros():
    """carry_state=0.5: each row continues from its state with probability 0.5, else starts afresh."""
    torch.manual_seed(0)
    model = LitCharRNN(7, embed_dim=4, hidden_size=8, dropout=0.0, carry_state=0.5)
    codes, first, second = consecutive_batches(rows=64)
    model.training_step(first, 0)
    torch.manual_seed(5)
    loss = model.training_step(second, 1).item()
    torch.manual_seed(5)
    keep = torch.rand(64) < 0.5
    carried = F.cross_entropy(model.every_logits(codes[:, :32])[:, 16:].transpose(1, 2), codes[:, 17:33],
                              reduction="none").mean(1)
    fresh = F.cross_entropy(model.every_logits(second[0]).transpose(1, 2), second[1], reduction="none").mean(1)
    assert 0 < keep.sum() < 64
    assert loss == pytest.approx(torch.where(keep, carried, fresh).mean().item(), rel=1e-5)


def test_carry_state_training_runs_and_needs_the_every_objective(prepared_dir, tmp_path):
    _, metrics = train(prepared_dir, tmp_path, objective="every", carry_state=0.75, batch_size=8)
    assert metrics["epochs"] == 2 and metrics["val_loss"] < math.log(len(load_vocab(prepared_dir)))
    assert metrics["train_windows"] == len(CharDataset(prepared_dir, 16, 16))  # back to back: train.step unused
    with pytest.raises(CharlmError, match="train.carry_state=0.5 trains on every position of consecutive windows"):
        tiny("train", carry_state=0.5, objective="last")


def test_weight_decay_shrinks_the_weight_matrices_only():
    """AdamW's decoupled decay: with zero gradients a step multiplies each matrix by 1 - lr * weight_decay."""
    model = LitCharRNN(7, embed_dim=4, hidden_size=8, lr=0.1, weight_decay=0.5)
    before = {k: v.clone() for k, v in model.named_parameters()}
    optimizer = model.configure_optimizers()
    (0 * sum(p.sum() for p in model.parameters())).backward()
    optimizer.step()
    for name, p in model.named_parameters():
        assert torch.allclose(p, before[name] * (0.95 if p.dim() >= 2 else 1.0)), name


def test_diverging_loss_stops_with_epoch_and_batch(prepared_dir, tmp_path):
    with pytest.raises(CharlmError, match=r"train loss is (nan|inf) at epoch 1, batch \d+: lower train.lr"):
        train(prepared_dir, tmp_path, lr=1e30)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_accelerator_without_a_gpu_is_one_line():
    with pytest.raises(CharlmError, match=r"^train.accelerator=gpu, train.devices=1: No supported gpu backend"):
        trainer_for(tiny("train", accelerator="gpu"), [], progress=False)


def test_too_long_a_window_is_refused_before_training(prepared_dir, tmp_path):
    with pytest.raises(CharlmError, match=r"split has [\d,]+ characters; model.maxlen=5000 needs at least 5,001"):
        fit(tiny("model", maxlen=5000), tiny("train"), 1, prepared_dir, RunDir(tmp_path / "run"))


def test_same_seed_same_run(prepared_dir, tmp_path):
    runs = [train(prepared_dir, tmp_path / f"m{i}", seed=3) for i in range(2)]
    timing = ("train_seconds", "wall_seconds", "windows_per_second", "predicted_chars_per_second")
    first, second = ({k: v for k, v in m.items() if k not in timing} for _, m in runs)
    assert first == second
    a, b = (torch.load(best, weights_only=True)["state_dict"] for best, _ in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", None], ids=["empty", "garbage", "missing"])
def test_load_checkpoint_refuses_what_is_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "best.ckpt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CharlmError, match="not found: train a model first" if content is None else
                       "is not a valid charlm checkpoint"):
        load_checkpoint(path)
