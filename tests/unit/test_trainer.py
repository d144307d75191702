"""Lightning's Trainer as the train stage makes it: precision and devices refused in one line."""

from __future__ import annotations

import pytest
import torch

from charlm.errors import CharlmError
from charlm.train.trainer import cpu_has_bf16, make_trainer, precision
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
