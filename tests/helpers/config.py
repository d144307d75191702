"""The tiny configuration every test trains with, and helpers to check params.yaml values."""

from __future__ import annotations

import copy
from typing import Any

from bench.project import project_params
from charlm import params
from charlm.errors import CharlmError

# The one tiny configuration: params.yaml with these dotted keys overridden, for real `dvc repro`
# runs and for in-process training alike. Tiny model, tiny windows, two epochs.
TINY = {
    "corpus.sha256": "", "model.maxlen": 16, "model.embed_dim": 8, "model.hidden_size": 16,
    "model.num_layers": 1,
    "train.step": 3, "train.batch_size": 64, "train.max_epochs": 2, "train.max_time": None,
    "train.val_check_interval": 1.0, "train.precision": "32-true",  # the same arithmetic on every CPU
    "train.objective": "last", "train.carry_state": 0.0, "train.schedule": "constant", "sample.length": 120,
}


def ddp(processes: int) -> dict[str, object]:
    """Params for training in `processes` CPU processes under Lightning's DDP (gloo), one torch thread
    each."""
    if processes == 1:
        return {}
    return {"train.devices": processes, "train.strategy": "ddp", "train.accelerator": "cpu",
            "train.threads": 1}


def tiny(name: str, **overrides: Any) -> Any:
    """One checked params section of the tiny configuration, e.g. tiny("train", lr=0.5)."""
    return params.section(project_params({**TINY, **{f"{name}.{k}": v for k, v in overrides.items()}}), name)


BASE = project_params({})


KEYS = ["seed"] + [f"{name}.{key}" for name, cls in params.SECTIONS.items() for key in cls.model_fields]


def value_of(values: dict, key: str) -> object:
    section, _, leaf = key.rpartition(".")
    return (values[section] if section else values)[leaf]


NUMERIC = [key for key in KEYS if type(value_of(BASE, key)) in (int, float)]  # bool is no number here


def check_value(key: str, value: object) -> None:
    """The section holding `key` = `value` is accepted, or refused with one line that names the key."""
    section, _, leaf = key.rpartition(".")
    values = copy.deepcopy(BASE)
    (values[section] if section else values)[leaf] = value
    try:
        params.section(values, section or "seed")
    except CharlmError as e:
        message = str(e)
        assert "\n" not in message
        assert key in message or (section == "train" and "train." in message), message


def corpus(source: str | list[str], **overrides: Any) -> params.CorpusParams:
    """The project's corpus section with another source (and overrides), for calling `download` directly."""
    return tiny("corpus", source=source, **overrides)
