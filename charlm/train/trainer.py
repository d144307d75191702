"""Lightning's Trainer as the train stage uses it: precision, processes, threads, checkpoint files, and
a console without advice that does not apply here."""

from __future__ import annotations

import io
import logging
import os
import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from charlm.errors import CharlmError
from charlm.files import atomic_path
from charlm.params.schema import TrainParams


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints through charlm's atomic writes: Lightning's own goes through a temp file in /tmp,
    which is copied (not renamed) onto a disk other than /tmp's, and it ignores a PermissionError.
    A full disk or a read-only folder is then a one-line error, and last.ckpt stays the last good one."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)  # torch's own file writer reports a full disk as a RuntimeError
        with atomic_path(Path(path)) as tmp:
            tmp.write_bytes(buffer.getbuffer())


# Lightning's notes that nobody can act on here: the absent accelerators, its cloud products, how it
# understood a setting charlm chose, that it stopped where charlm told it to
UNACTIONABLE = ("💡", "GPU available:", "TPU available:", "HPU available:", "`Trainer.fit` stopped:",
                "`Trainer(val_check_interval=", "`Trainer(limit_val_batches=",
                "Using bfloat16 Automatic Mixed Precision")  # History's first line names the precision


def _actionable(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(UNACTIONABLE)


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Lightning without its notes that do not apply here (UNACTIONABLE; workers for in-memory data, an
    internal deprecation), so errors and what matters stand out on the console."""
    log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    log.addFilter(_actionable)
    try:
        with warnings.catch_warnings():
            for message in ("does not have many workers", r"isinstance\(treespec, LeafSpec\)",
                            "smaller than the logging interval", "not supported by the model summary",
                            "You defined a `validation_step` but have no `val_dataloader`"):
                warnings.filterwarnings("ignore", message=f".*{message}")
            yield
    finally:
        log.removeFilter(_actionable)


def cpu_has_bf16() -> bool:
    """Whether oneDNN computes bfloat16 natively here (AVX-512 BF16 or AMX). torch has no public call
    for it; this is the one place that asks its private mkldnn op."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def precision(cfg: TrainParams) -> str:
    """Lightning's precision for `train.precision`: `auto` is bf16-mixed where the device computes
    bfloat16 natively (a GPU that has it; a CPU with AVX-512 BF16 or AMX), else 32-true."""
    gpu = cfg.accelerator == "gpu" or (cfg.accelerator == "auto" and torch.cuda.is_available())
    native = torch.cuda.is_bf16_supported() if gpu else cpu_has_bf16()
    if cfg.precision == "auto":
        return "bf16-mixed" if native else "32-true"
    if cfg.precision == "bf16-mixed" and not native:
        cpu = "a CPU with AVX-512 BF16 or AMX (oneDNN has no bfloat16 LSTM on this one)"
        where = "a GPU with bfloat16" if gpu else cpu
        raise CharlmError(f"train.precision=bf16-mixed needs {where}: use 32-true or auto")
    return cfg.precision


def launcher_problem(num_nodes: int, env: dict[str, str]) -> str | None:
    """What is missing for `num_nodes` machines: a launcher that starts a process on every node and says
    so in the environment (torchrun, or SLURM's srun), with as many nodes as num_nodes. Without one, the
    first node would wait for the others forever; a hand-set NODE_RANK is no launcher."""
    if num_nodes == 1:
        return None
    if "TORCHELASTIC_RUN_ID" in env:
        world = env.get("WORLD_SIZE", "")
        if not world.isdigit() or int(world) < num_nodes or int(world) % num_nodes:
            return f"torchrun started WORLD_SIZE={world or '(none)'} processes, not a multiple of {num_nodes}"
        return None
    if "SLURM_NTASKS" in env:
        nodes = env.get("SLURM_NNODES", "")
        missing = [name for name in ("SLURM_NODELIST", "SLURM_JOB_ID", "SLURM_PROCID") if name not in env]
        if missing or nodes != str(num_nodes):
            lacks = f" and lacks {', '.join(missing)}" if missing else ""
            return f"SLURM's environment has SLURM_NNODES={nodes or '(none)'}{lacks} (start it with srun)"
        return None
    return "no launcher started it"


def make_trainer(cfg: TrainParams, callbacks: list[Callback], progress: bool) -> L.Trainer:
    if problem := launcher_problem(cfg.num_nodes, dict(os.environ)):
        raise CharlmError(f"train.num_nodes={cfg.num_nodes} needs a launcher that starts every node (SLURM's"
                          f" srun, or torchrun --nnodes), but {problem}: see docs/scaling.md; on one machine"
                          " use train.devices")
    try:
        return L.Trainer(
            accelerator=cfg.accelerator, devices=cfg.devices, num_nodes=cfg.num_nodes, strategy=cfg.strategy,
            use_distributed_sampler=False,  # CharDataModule shards the windows itself
            deterministic=True, logger=False, callbacks=callbacks, max_epochs=cfg.max_epochs or -1,
            val_check_interval=cfg.val_check_interval, num_sanity_val_steps=0, enable_progress_bar=progress,
            enable_model_summary=False,  # History says the model's size; the summary's FLOPs read 0 here
            precision=precision(cfg), plugins=[AtomicCheckpointIO()],
        )
    except MisconfigurationException as e:  # e.g. accelerator gpu on a machine without one
        raise CharlmError(f"train.accelerator={cfg.accelerator}, train.devices={cfg.devices}: {e}") from None


@contextmanager
def sigterm_to_lightning() -> Iterator[None]:
    """SIGTERM as Lightning alone handles it meanwhile (it stops every process at a step and raises
    SIGTERMException); a handler of charlm's own would be called from inside Lightning's."""
    before = signal.getsignal(signal.SIGTERM)
    main = threading.current_thread() is threading.main_thread()
    if main:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        yield
    finally:
        if main and before is not None:
            signal.signal(signal.SIGTERM, before)


def use_threads(threads: int | None) -> None:
    """`train.threads`: torch's threads in each process; OMP_NUM_THREADS carries the number to the processes
    DDP starts (and keeps Lightning from choosing). None: torch's default, the cores, which Lightning divides
    among the processes DDP starts on a machine."""
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)
