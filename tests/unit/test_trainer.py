"""Lightning's Trainer as the train stage makes it: precision and devices refused in one line."""

from __future__ import annotations

import pytest
import torch

from charlm.errors import CharlmError
from charlm.train.trainer import cpu_has_bf16, launcher_problem, make_trainer, precision
from tests.helpers.config import tiny


def test_auto_precision_is_bf16_only_where_the_cpu_has_it():
    assert precision(tiny("train", precision="auto", accelerator="cpu")) == (
        "bf16-mixed" if cpu_has_bf16() else "32-true")
    if not cpu_has_bf16():
        with pytest.raises(CharlmError,
                           match="train.precision=bf16-mixed needs a CPU with AVX-512 BF16 or AMX"):
            precision(tiny("train", precision="bf16-mixed", accelerator="cpu"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_accelerator_without_a_gpu_is_one_line():
    with pytest.raises(CharlmError,
                       match=r"^train.accelerator=gpu, train.devices=1: No supported gpu backend"):
        make_trainer(tiny("train", accelerator="gpu"), [], progress=False)


def test_several_nodes_without_a_launcher_are_refused_instead_of_waiting_forever(monkeypatch):
    for name in ("SLURM_NTASKS", "TORCHELASTIC_RUN_ID", "NODE_RANK", "GROUP_RANK"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CharlmError, match=r"train.num_nodes=2 needs a launcher that starts every node"):
        make_trainer(tiny("train", num_nodes=2), [], progress=False)


@pytest.mark.parametrize("env, problem", [
    ({}, "no launcher started it"),
    ({"NODE_RANK": "0"}, "no launcher started it"),
    ({"GROUP_RANK": "0", "MASTER_ADDR": "node0"}, "no launcher started it"),
    ({"SLURM_NTASKS": "1"}, "SLURM_NNODES=(none) and lacks SLURM_NODELIST, SLURM_JOB_ID, SLURM_PROCID"),
    ({"SLURM_NTASKS": "2", "SLURM_NNODES": "1", "SLURM_NODELIST": "n1", "SLURM_JOB_ID": "7",
      "SLURM_PROCID": "0"}, "SLURM_NNODES=1"),
    ({"TORCHELASTIC_RUN_ID": "x", "WORLD_SIZE": "3"}, "WORLD_SIZE=3 processes, not a multiple of 2"),
    ({"TORCHELASTIC_RUN_ID": "x"}, "WORLD_SIZE=(none)"),
    ({"TORCHELASTIC_RUN_ID": "x", "WORLD_SIZE": "4"}, None),
    ({"SLURM_NTASKS": "2", "SLURM_NNODES": "2", "SLURM_NODELIST": "n[1-2]", "SLURM_JOB_ID": "7",
      "SLURM_PROCID": "0"}, None),
], ids=["none", "node-rank-by-hand", "group-rank-by-hand", "slurm-ntasks-alone", "slurm-one-node",
        "torchrun-odd-world", "torchrun-no-world", "torchrun", "slurm"])
def test_two_nodes_need_a_launcher_that_started_two(env, problem):
    """A hand-set NODE_RANK would wait for the other node forever; SLURM_NTASKS alone was a KeyError."""
    assert launcher_problem(2, env) == problem or (problem and problem in launcher_problem(2, env))
    assert launcher_problem(1, env) is None
