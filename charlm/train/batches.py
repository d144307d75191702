"""The batches training and validation read, in one process or in each of several (Lightning DDP).

    windows of the train split -> shuffled batches (carry_state 0) or streams of back-to-back windows
    blocks of the val split    -> back-to-back, 40 characters each, every position scored,
                                  each block in one process only

Lightning's DistributedSampler would wrap these samplers badly (they yield whole batches), so the
trainer runs with `use_distributed_sampler=False` and the samplers shard by themselves: process r of
w takes every w-th window of the shuffled order, or its own `batch_size` streams, so each process
reads 1/w of the windows per epoch in as many batches as the others (DDP averages their gradients at
every step). Validation windows are dealt out the same way, and `LitCharRNN` logs with
`sync_dist=True`, whose mean is weighted by each process's count: the loss over the whole text.
A sampler holds window indices as a tensor (8 bytes a window) or makes them per batch, never a list.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Sampler

from charlm.errors import CharlmError
from charlm.params.schema import ModelParams, TrainParams
from charlm.text.splits import SCORE_BLOCK, CharDataset, blocks_at_once


class ShuffledBatches(Sampler[torch.Tensor]):
    """Batches of window indices in a new random order every epoch (from `seed` and the epoch, so a
    resumed run reshuffles as the uninterrupted one did). Process `rank` of `world` takes every
    `world`-th window of the order; the last partial batch is kept."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world = world
        self.per_process = n // world  # the same count in every process (up to world - 1 windows left out)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(self.per_process / self.batch_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        mine = order[self.rank : self.world * self.per_process : self.world]
        yield from mine.split(self.batch_size)


class StreamSampler(Sampler[list[int]]):
    """Batches of window indices for `carry_state`: the windows (back to back) are cut into
    `batch_size` x `world` streams of consecutive windows; process r owns streams r * batch_size
    onwards, and its batch k holds window k of each of its streams, so row i of batch k + 1 continues
    the text where row i of batch k ended (char-rnn's batches; the few windows left over are not
    used). The order is fixed: what varies from epoch to epoch is only the state carried in."""

    def __init__(self, n: int, batch_size: int, rank: int = 0, world: int = 1) -> None:
        self.streams = max(1, min(batch_size, n // world))  # per process
        self.per_stream = n // (self.streams * world)
        self.first = rank * self.streams

    def __len__(self) -> int:
        return self.per_stream

    def __iter__(self) -> Iterator[list[int]]:
        first = self.first * self.per_stream
        starts = range(first, first + self.streams * self.per_stream, self.per_stream)
        for k in range(self.per_stream):
            yield [s + k for s in starts]


class DealtBatches(Sampler[torch.Tensor]):
    """Windows in order, process `rank` of `world` taking every `world`-th: each window is scored once."""

    def __init__(self, n: int, batch_size: int, rank: int = 0, world: int = 1) -> None:
        self.mine = torch.arange(rank, n, world)
        self.batch_size = batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.mine) / self.batch_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        yield from self.mine.split(self.batch_size)


def loader(dataset: CharDataset, sampler: Sampler) -> DataLoader:
    """One DataLoader item = one batch gathered by CharDataset in a single indexing call."""
    return DataLoader(dataset, sampler=sampler, batch_size=None)


def block_batches(data_dir: Path | str, split: str, rank: int = 0, world: int = 1) -> DataLoader:
    """A split (val or test) in back-to-back blocks of SCORE_BLOCK characters, every position scored, so
    each character is predicted once from 1 to SCORE_BLOCK characters of context (nanoGPT's definition),
    the same blocks for every model."""
    dataset = CharDataset(data_dir, SCORE_BLOCK, SCORE_BLOCK, split=split, objective="every")
    return loader(dataset, DealtBatches(len(dataset), blocks_at_once(data_dir), rank, world))


class CharDataModule(L.LightningDataModule):
    """The train stage's data: its loaders are made once the trainer knows this process's rank."""

    def __init__(self, data_dir: Path, model: ModelParams, train: TrainParams, seed: int) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.maxlen = model.maxlen
        self.batch_size = train.batch_size
        self.carry_state = train.carry_state
        self.seed = seed
        step = model.maxlen if train.carry_state else train.step  # streams read the windows back to back
        self.train_set = CharDataset(data_dir, model.maxlen, step, split="train", objective=train.objective)

    def train_sampler(self, rank: int, world: int) -> Sampler:
        n = len(self.train_set)
        if n < world:
            raise CharlmError(f"{n} training windows for {world} processes: use a longer corpus or fewer"
                              " train.devices")
        if self.carry_state:
            return StreamSampler(n, self.batch_size, rank, world)
        return ShuffledBatches(n, self.batch_size, self.seed, rank, world)

    def batches_per_epoch(self, world: int) -> int:
        """Training batches in each of `world` processes."""
        return len(self.train_sampler(0, world))

    def train_dataloader(self) -> DataLoader:
        return loader(self.train_set, self.train_sampler(self.trainer.global_rank, self.trainer.world_size))

    def val_dataloader(self) -> DataLoader:
        rank = self.trainer.global_rank
        return block_batches(self.data_dir, "val", rank, self.trainer.world_size)
