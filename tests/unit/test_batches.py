"""The batches training and validation read: shuffled windows or streams, sharded among processes."""

from __future__ import annotations

import pytest
import torch

from charlm.errors import CharlmError
from charlm.text.splits import CharDataset, load_split
from charlm.train.batches import CharDataModule, DealtBatches, ShuffledBatches, StreamSampler, loader
from tests.helpers.config import tiny


@pytest.mark.parametrize("world", [1, 2, 3])
def test_training_shards_are_disjoint_equal_and_reshuffled(world):
    shards = [ShuffledBatches(103, 8, seed=1, rank=r, world=world) for r in range(world)]
    seen = [torch.cat(list(s)).tolist() for s in shards]
    assert all(len(b) == 103 // world for b in seen) and len({len(s) for s in shards}) == 1
    assert len(set().union(*seen)) == world * (103 // world)  # no window in two processes
    shards[0].set_epoch(1)
    assert torch.cat(list(shards[0])).tolist() != seen[0]  # another order next epoch


def test_streams_are_split_among_processes():
    one = list(StreamSampler(100, 4))
    two = [list(StreamSampler(100, 2, rank=r, world=2)) for r in range(2)]
    assert len(two[0]) == len(two[1]) == 25 == len(one)  # 4 streams of 25 windows, 2 in each process
    assert [a + b for a, b in zip(*two, strict=True)] == one


def test_validation_windows_are_dealt_once():
    dealt = [torch.cat(list(DealtBatches(95, 10, rank=r, world=2))).tolist() for r in range(2)]
    assert sorted(dealt[0] + dealt[1]) == list(range(95))


def test_stream_batches_continue_each_row_where_it_ended(prepared_dir):
    """Row r of batch k + 1 starts where row r of batch k ended: each row reads its stretch of the text."""
    ds = CharDataset(prepared_dir, 16, 16, objective="every")
    batches = loader(ds, StreamSampler(len(ds), 4))
    xs, ys = zip(*batches, strict=True)
    assert len(xs) == len(batches) == len(ds) // 4
    codes, per_stream = load_split(prepared_dir, "train").long(), len(ds) // 4
    for r in range(4):
        start = r * per_stream * 16
        assert torch.equal(torch.cat([x[r] for x in xs]), codes[start : start + per_stream * 16])
        assert torch.equal(torch.cat([y[r] for y in ys]), codes[start + 1 : start + per_stream * 16 + 1])


@pytest.mark.parametrize("carry_state, objective", [(0.0, "last"), (0.75, "every")])
def test_batches_per_epoch_is_what_each_process_reads(prepared_dir, carry_state, objective):
    model, train = tiny("model"), tiny("train", carry_state=carry_state, objective=objective, batch_size=8)
    data = CharDataModule(prepared_dir, model, train, seed=1)
    for world in (1, 2):
        assert data.batches_per_epoch(world) == len(list(data.train_sampler(world - 1, world)))
    with pytest.raises(CharlmError,
                       match=r"training windows for 100000 processes: use a longer corpus or fewer"):
        data.batches_per_epoch(100_000)
