"""params.yaml, read once and checked: one typed dataclass per section, one rule per key.

params.yaml is the one place where values live: the dataclasses have no defaults, so a key missing
from the file is an error, not a silent fallback. Each field carries its rule and a phrase saying
what it accepts, so a bad value is refused with one line naming the key before any work starts.

    seed, train = config.load("seed", "train")     # a stage reads only its own sections
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from charlm.errors import CharlmError

PARAMS_FILE = Path("params.yaml")


def rule(check: Callable[[Any], bool], expected: str) -> Any:
    """A dataclass field that `load` checks with `check`; `expected` says what is allowed."""
    return field(metadata={"check": check, "expected": expected})


def number(v: Any, *, integer: bool = False) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) if integer else isinstance(v, (int, float)) and math.isfinite(v)


def integer(low: int) -> Any:
    return rule(lambda v: number(v, integer=True) and v >= low, f"an integer >= {low}")


def flag() -> Any:
    return rule(lambda v: isinstance(v, bool), "true or false")


def one_of(*choices: Any, expected: str = "") -> Any:
    return rule(lambda v: any(v is c or (type(v) is type(c) and v == c) for c in choices),
                expected or " or ".join(map(str, choices)))


def _text(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


def _sha256(v: Any) -> bool:
    return v in (None, "") or (isinstance(v, str) and re.fullmatch(r"[0-9a-fA-F]{64}", v) is not None)


def _temperatures(v: Any) -> bool:
    return (isinstance(v, list) and len(v) > 0 and all(number(t) and t > 0 for t in v)
            and len(set(v)) == len(v))


def temperatures() -> Any:
    return rule(_temperatures, "a non-empty list of distinct numbers > 0")


@dataclass(frozen=True)
class Corpus:
    """Stage download: where the text comes from and how it is cleaned."""

    source: str | list[str] = rule(lambda v: _text(v) or (isinstance(v, list) and len(v) > 0 and all(map(_text, v))),
                                   "an http(s) URL, gutenberg:<id> or a file in data/books/, or a non-empty list of them")  # noqa: E501
    gutenberg_url: str = rule(lambda v: _text(v) and "{id}" in v, "a URL template containing {id}")
    sha256: str | list[str] = rule(lambda v: _sha256(v) or (isinstance(v, list) and all(map(_sha256, v))),
                                   "empty, a 64-digit hex sha256, or a list of them (one per source)")
    strip_gutenberg: str | bool = one_of("auto", True, False, expected="auto (for gutenberg: sources), true or false")
    nfc: bool = flag()
    lowercase: bool = flag()
    timeout: float = rule(lambda v: number(v) and v > 0, "a number of seconds > 0")
    retries: int = integer(0)
    max_bytes: int = integer(1)

    @property
    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)

    @property
    def pins(self) -> list[str]:
        """One sha256 pin (or "") per source."""
        pins = self.sha256 or ""
        pins = [pins] * len(self.sources) if isinstance(pins, str) else [p or "" for p in pins]
        if len(pins) != len(self.sources):
            raise CharlmError(f"corpus.sha256 has {len(pins)} pins for {len(self.sources)} sources")
        return pins


@dataclass(frozen=True)
class Prepare:
    """Stage prepare: the split and the character report."""

    val_fraction: float = rule(lambda v: number(v) and 0 < v < 1, "a number with 0 < val_fraction < 1")
    rare_below: int = integer(1)


@dataclass(frozen=True)
class Model:
    """Stage train: LitCharRNN's shape, saved in its checkpoint."""

    maxlen: int = integer(1)
    embed_dim: int = integer(1)
    hidden_size: int = integer(1)
    num_layers: int = integer(1)
    dropout: float = rule(lambda v: number(v) and 0 <= v < 1, "a number with 0 <= dropout < 1")


@dataclass(frozen=True)
class Train:
    """Stage train: windows and optimisation."""

    step: int = integer(1)
    lr: float = rule(lambda v: number(v) and v > 0, "a number > 0")
    batch_size: int = integer(1)
    max_epochs: int | None = rule(lambda v: v is None or (number(v, integer=True) and v >= 1),
                                  "null (no cap) or an integer >= 1")
    max_time: float | None = rule(lambda v: v is None or (number(v) and v > 0), "null (no cap) or minutes > 0")
    val_check_interval: float | int = rule(lambda v: (isinstance(v, float) and 0 < v <= 1) or (number(v, integer=True)
                                                                                          and v >= 1),
                                           "a share of an epoch (a number 0 < v <= 1.0) or a count of batches"
                                           " (an integer >= 1)")
    patience: int = integer(0)
    resume: bool = flag()
    objective: str = one_of("last", "every",
                            expected="last (the exercise's: loss on the window's last character) or every")
    schedule: str = one_of("constant", "cosine", "wsd")
    warmup: float = rule(lambda v: number(v) and 0 <= v < 1, "a fraction of the training steps, 0 <= warmup < 1")
    decay: float = rule(lambda v: number(v) and 0 < v < 1, "the decay's share of the run, 0 < decay < 1")
    decay_patience: int = integer(1)
    decay_start: int | None = rule(lambda v: v is None or (number(v, integer=True) and v >= 0),
                                   "null (decide during training) or a step >= 0")
    weight_decay: float = rule(lambda v: number(v) and v >= 0, "a number >= 0 (AdamW's decoupled weight decay)")
    carry_state: float = rule(lambda v: number(v) and 0 <= v <= 1, "a share of rows, 0 <= carry_state <= 1")
    grad_clip: float | None = rule(lambda v: v is None or (number(v) and v > 0), "null (no clipping) or a norm > 0")
    precision: str = one_of("32-true", "bf16-mixed", "auto",
                            expected="32-true, bf16-mixed (bfloat16 autocast) or auto (bf16-mixed where the CPU"
                                     " computes bf16 natively)")
    accelerator: str = one_of("auto", "cpu", "gpu")
    devices: int | str = rule(lambda v: v == "auto" or (number(v, integer=True) and v >= 1),
                              "auto or a number of devices (processes) per machine >= 1")
    num_nodes: int = integer(1)
    strategy: str = one_of("auto", "ddp", expected="auto (one process; DDP when devices > 1) or ddp")
    threads: int | None = rule(lambda v: v is None or (number(v, integer=True) and v >= 1),
                               "null (all cores, shared among the processes on a machine) or a number >= 1")

    def __post_init__(self) -> None:
        if self.schedule == "cosine" and self.max_epochs is None:
            raise CharlmError("train.schedule=cosine spans train.max_epochs: set it (not null), or use wsd")
        if self.carry_state and self.objective != "every":
            raise CharlmError(f"train.carry_state={self.carry_state} trains on every position of consecutive windows:"
                              " set train.objective=every")
        if self.schedule == "wsd" and self.decay_start is None and self.decay_patience >= self.patience:
            raise CharlmError(f"train.decay_patience={self.decay_patience} must be below train.patience="
                              f"{self.patience}, or early stopping ends the run before the decay starts")


@dataclass(frozen=True)
class Sample:
    """Stage sample: texts at several temperatures and their word metrics."""

    prompt: str = rule(lambda v: isinstance(v, str), "a string (empty: a line of the validation text)")
    unknown: str = one_of("error", "skip")
    temperatures: list[float] = temperatures()
    length: int = integer(1)
    count: int = integer(1)
    recognisable_threshold: float = rule(lambda v: number(v) and 0 < v <= 1, "a number with 0 < threshold <= 1")


@dataclass(frozen=True)
class Plot:
    """Stage plot_softmax: tempered-softmax curves."""

    temperatures: list[float] = temperatures()
    prompt: str = rule(lambda v: isinstance(v, str), "a string (empty: a line of the validation text)")


SECTIONS: dict[str, type] = {"corpus": Corpus, "prepare": Prepare, "model": Model, "train": Train,
                             "sample": Sample, "plot": Plot}
SEED = ("seed", lambda v: number(v, integer=True) and v >= 0, "an integer >= 0")


def _check(key: str, value: Any, check: Callable[[Any], bool], expected: str) -> None:
    try:
        ok = bool(check(value))
    except Exception:  # e.g. an unhashable list inside a list: not what the rule accepts
        ok = False
    if not ok:
        raise CharlmError(f"{PARAMS_FILE}: {key}={value!r} is invalid; expected {expected}")


def section(params: dict[str, Any], name: str) -> Any:
    """One section of parsed params as its dataclass (or the seed as an int), checked key by key."""
    if name == "seed":
        if "seed" not in params:
            raise CharlmError(f"{PARAMS_FILE}: missing key 'seed'")
        _check(*SEED[:1], params["seed"], *SEED[1:])
        return params["seed"]
    cls = SECTIONS[name]
    values = params.get(name)
    if not isinstance(values, dict):
        raise CharlmError(f"{PARAMS_FILE}: '{name}' must be a mapping of keys, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in fields:
            raise CharlmError(f"{PARAMS_FILE}: unknown key '{name}.{key}'; {name} has {', '.join(sorted(fields))}")
    for key, f in fields.items():
        if key not in values:
            raise CharlmError(f"{PARAMS_FILE}: missing key '{name}.{key}'")
        _check(f"{name}.{key}", values[key], f.metadata["check"], f.metadata["expected"])
    return cls(**values)


def read(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """The parsed file (yaml.safe_load), unchecked."""
    try:
        params = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CharlmError(f"{path} not found: run from the repository root") from None
    except yaml.YAMLError as e:
        raise CharlmError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(params, dict):
        raise CharlmError(f"{path} must be a mapping of sections")
    return params


def load(*names: str, path: Path = PARAMS_FILE) -> Any:
    """The named sections, checked, in the order asked: `seed, model = load("seed", "model")`."""
    params = read(path)
    values = tuple(section(params, name) for name in names)
    return values[0] if len(values) == 1 else values
