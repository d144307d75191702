"""LitCharRNN: the exercise's shape and defaults, its losses, carried state and optimiser."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from charlm.model.lstm import LitCharRNN
from charlm.train.schedules import WarmupStableDecay


def test_exercise_defaults():
    m = LitCharRNN(30)
    assert dict(m.hparams) == {"vocab_size": 30, "embed_dim": 64, "hidden_size": 128, "dropout": 0.2,
                               "lr": 5e-3, "num_layers": 2, "maxlen": 40, "weight_decay": 0.0,
                               "carry_state": 0.0}
    assert m.lstm.num_layers == 2 and m.lstm.hidden_size == 128 and m.embed.embedding_dim == 64
    assert [name for name, _ in m.head.named_children()] == ["dropout1", "dense", "relu", "dropout2", "out"]


def test_output_shapes():
    m = LitCharRNN(30, embed_dim=8, hidden_size=16)
    x = torch.randint(0, 30, (5, 40))
    assert m(x).shape == (5, 30)
    assert m.every_logits(x).shape == (5, 40, 30)
    assert torch.allclose(m.eval()(x), m.every_logits(x)[:, -1])


def test_stateful_loss_reads_the_whole_text():
    torch.manual_seed(0)
    model = LitCharRNN(5, embed_dim=4, hidden_size=8).eval()
    codes = torch.randint(0, 5, (1000,))
    direct = F.cross_entropy(model.every_logits(codes[None, :-1])[0], codes[1:]).item()
    assert model.stateful_loss(codes, chunk=64) == pytest.approx(direct, rel=1e-5)


def consecutive_batches(rows: int) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """Random codes (rows, 33) and two `every` batches of 16-character windows, the second continuing the
    first."""
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
    joined = F.cross_entropy(model.every_logits(codes[:, :32])[:, 16:].flatten(0, 1),
                             codes[:, 17:33].flatten())
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
    fresh = F.cross_entropy(model.every_logits(second[0]).transpose(1, 2), second[1],
                            reduction="none").mean(1)
    assert 0 < keep.sum() < 64
    assert loss == pytest.approx(torch.where(keep, carried, fresh).mean().item(), rel=1e-5)


def test_weight_decay_shrinks_the_weight_matrices_only():
    """AdamW's decoupled decay: with zero gradients a step multiplies each matrix by 1 - lr * weight_decay."""
    model = LitCharRNN(7, embed_dim=4, hidden_size=8, lr=0.1, weight_decay=0.5)
    before = {k: v.clone() for k, v in model.named_parameters()}
    optimizer = model.configure_optimizers()
    (0 * sum(p.sum() for p in model.parameters())).backward()
    optimizer.step()
    for name, p in model.named_parameters():
        assert torch.allclose(p, before[name] * (0.95 if p.dim() >= 2 else 1.0)), name


def test_the_first_step_of_a_warm_up_is_at_its_first_rate():
    """The schedule is complete when the optimiser is built: step 0 trains at lr / warmup, not at lr."""
    model = LitCharRNN(7, embed_dim=4, hidden_size=8, lr=0.01, lr_schedule=WarmupStableDecay(warmup=4))
    config = model.configure_optimizers()
    rates = []
    for _ in range(5):
        rates.append(config["optimizer"].param_groups[0]["lr"])
        config["optimizer"].step()
        config["lr_scheduler"]["scheduler"].step()
    assert rates == pytest.approx([0.0025, 0.005, 0.0075, 0.01, 0.01])
