"""Every key of params.yaml: its rule, what it accepts, and what it means, in one place.

One frozen dataclass per section, without defaults: params.yaml is the one place where values
live, so a key missing from the file is an error, not a silent fallback. params.yaml's comments say
the same as the meanings here (a test holds them together), and docs/parameters.md is generated
from here. `charlm.params.load` reads the file and checks it against these rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from charlm.errors import CharlmError

MAX_SEED = 2**32 - 1  # numpy's seeds are 32 bits
# The largest network params.yaml or a checkpoint may declare: far beyond what trains on a CPU, small
# enough that a typo or a crafted checkpoint is refused before anything is allocated.
MODEL_LIMITS = {"vocab_size": 65_536, "maxlen": 65_536, "embed_dim": 8192, "hidden_size": 8192,
                "num_layers": 32}


def param(check: Callable[[Any], bool], expected: str, meaning: str, why: str = "") -> Any:
    """A dataclass field that `load` checks with `check`; `expected` says what is allowed, `meaning`
    what it does (params.yaml's comment and the docs say the same), `why` (docs only) why it is set as
    it is, where measurement or the exercise decided it."""
    return field(metadata={"check": check, "expected": expected, "meaning": meaning, "why": why})


def number(v: Any, *, integer: bool = False) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) if integer else isinstance(v, (int, float)) and math.isfinite(v)


def integer(low: int, meaning: str, high: int | None = None, why: str = "") -> Any:
    expected = f"an integer >= {low}" if high is None else f"an integer from {low} to {high:,}"
    return param(lambda v: number(v, integer=True) and low <= v and (high is None or v <= high), expected,
                 meaning, why)


def real(ok: Callable[[float], bool], expected: str, meaning: str, why: str = "") -> Any:
    """A finite number for which `ok` holds."""
    return param(lambda v: number(v) and ok(v), expected, meaning, why)


def optional(rule: Any, null_means: str) -> Any:
    """`rule`, or null."""
    meta = rule.metadata
    return param(lambda v: v is None or meta["check"](v), f"null ({null_means}) or {meta['expected']}",
                 meta["meaning"], meta["why"])


def flag(meaning: str) -> Any:
    return param(lambda v: isinstance(v, bool), "true or false", meaning)


def one_of(*choices: Any, meaning: str, expected: str = "", why: str = "") -> Any:
    return param(lambda v: any(v is c or (type(v) is type(c) and v == c) for c in choices),
                 expected or " or ".join(map(str, choices)), meaning, why)


def _text(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


def _sha256(v: Any) -> bool:
    return v in (None, "") or (isinstance(v, str) and re.fullmatch(r"[0-9a-fA-F]{64}", v) is not None)


def _temperatures(v: Any) -> bool:
    """Distinct as printed (`T{t:g}` names a result), 0 (greedy) allowed."""
    return (isinstance(v, list) and len(v) > 0 and all(number(t) and t >= 0 for t in v)
            and len({f"{t:g}" for t in v}) == len(v))


def temperatures(meaning: str) -> Any:
    return param(_temperatures, "a non-empty list of numbers >= 0 (0: greedy) that differ in their first"
                 " 6 digits", meaning)


def _val_check(v: Any) -> bool:
    return (number(v) and isinstance(v, float) and 0 < v <= 1) or (number(v, integer=True) and v >= 2)


@dataclass(frozen=True)
class CorpusParams:
    """Stage download: where the text comes from and how it is cleaned."""

    source: str | list[str] = param(
        lambda v: _text(v) or (isinstance(v, list) and len(v) > 0 and all(map(_text, v))),
        "a file in data/books/, an http(s) URL or gutenberg:<id>, or a non-empty list of them",
        "the text to learn: a file in data/books/, an http(s) URL, gutenberg:<id>, or a list of these")
    gutenberg_url: str = param(
        lambda v: _text(v) and "{id}" in v and v.startswith(("http://", "https://")),
        "an http(s) URL template containing {id}", "where gutenberg:<id> is fetched (a mirror can stand in)")
    sha256: str | list[str] = param(
        lambda v: _sha256(v) or (isinstance(v, list) and all(map(_sha256, v))),
        "empty, a 64-digit hex sha256, or a list of them (one per source)",
        "optional pin of the raw bytes (a list: one per source); a mismatch is refused before anything"
        " is written")
    strip_gutenberg: str | bool = one_of(
        "auto", True, False, expected="auto, true or false",
        meaning="remove the Project Gutenberg header and footer: auto (gutenberg: sources only), true, false")
    nfc: bool = flag("Unicode NFC normalisation (merges composed and decomposed accents)")
    lowercase: bool = flag("lower-case the whole text (as the Keras example does): a smaller vocabulary")
    timeout: float = real(
        lambda v: 0 < v <= 3600, "seconds, 0 < timeout <= 3600",
        "seconds to wait for the server to connect or send the next bytes")
    max_seconds: float = real(
        lambda v: 0 < v <= 86400, "seconds, 0 < max_seconds <= 86400",
        "seconds one source's download may take in all, retries included")
    retries: int = integer(
        0, "retries after a server error or a cut connection, with exponential backoff", high=20)
    max_bytes: int = integer(1, "refuse a source larger than this many bytes")

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
class PrepareParams:
    """Stage prepare: the split and the character report."""

    val_fraction: float = real(
        lambda v: 0 < v < 1, "a number with 0 < val_fraction < 1",
        "the share of the text before the test split that is the validation split (selects the model)")
    test_fraction: float = real(
        lambda v: 0 < v < 1, "a number with 0 < test_fraction < 1",
        "the last share of the text is the test split: held out, read once after training")
    rare_below: int = integer(1, "report characters seen fewer than this many times (often stray symbols)")

    def __post_init__(self) -> None:
        held_out = self.val_fraction + self.test_fraction
        if held_out >= 1:
            raise CharlmError(f"prepare.val_fraction + prepare.test_fraction is {held_out:g}: it must leave"
                              " some text to train on (below 1)")


@dataclass(frozen=True)
class ModelParams:
    """Stage train: LitCharRNN's shape, saved in its checkpoint."""

    maxlen: int = integer(
        1, "characters of context per training window (sample and plot_softmax read it from the model)",
        high=MODEL_LIMITS["maxlen"])
    embed_dim: int = integer(1, "character embedding size", high=MODEL_LIMITS["embed_dim"])
    hidden_size: int = integer(
        1, "LSTM units per layer, also the width of the dense layer (the exercise's: 128)",
        high=MODEL_LIMITS["hidden_size"])
    num_layers: int = integer(1, "stacked LSTM layers", high=MODEL_LIMITS["num_layers"])
    dropout: float = real(
        lambda v: 0 <= v < 1, "a number with 0 <= dropout < 1",
        "dropout between LSTM layers and in the head (the exercise's: 0.2)",
        why="0.1 gave the lowest validation losses of the settings tried at 10 minutes on an fp32 CPU"
            " (docs/results.md)")


@dataclass(frozen=True)
class TrainParams:
    """Stage train: windows and optimisation."""

    step: int = integer(
        1, "with carry_state 0: a training window starts every `step` characters (the exercise's: 3)")
    lr: float = real(
        lambda v: 0 < v <= 100, "a number, 0 < lr <= 100",
        "AdamW's learning rate, the peak of the schedule (the exercise's: 0.005)")
    batch_size: int = integer(1, "windows per optimiser step (the exercise's: 128)")
    max_epochs: int | None = optional(integer(1, "cap on passes over the training windows"), "no cap")
    max_time: float | None = optional(
        real(lambda v: 0 < v <= 10**6, "minutes > 0", "cap on training time in minutes, validation included"),
        "no cap")
    val_check_interval: float | int = param(
        _val_check,
        "a share of an epoch (0 < v <= 1.0, written with a point) or a count of batches (an integer >= 2)",
        "validate and checkpoint every this share of an epoch (0.25), or every N batches (an integer)")
    patience: int = integer(0, "EarlyStopping: validations without a better val_loss before stopping")
    resume: bool = flag("continue an interrupted run (same params and data) from models/run/")
    objective: str = one_of(
        "last", "every", expected="last or every",
        meaning="loss on every position of each window, or on its last character only (last: the exercise's)")
    schedule: str = one_of(
        "constant", "wsd",
        meaning="learning rate: constant (the exercise's), or wsd: warm-up, stable, then down to lr/10 when"
                " val_loss stalls or the time runs low",
        why="wsd: the decay fits any machine's speed, since it starts when validation stalls or the time"
            " cap nears")
    warmup: float = real(
        lambda v: 0 <= v < 1, "a share of the first epoch, 0 <= warmup < 1",
        "wsd: the warm-up's share of the first epoch",
        why="0: no gain measured at lr 0.01 and batch 64; it stays for larger learning rates and batches"
            " (several DDP processes), which need one")
    decay: float = real(
        lambda v: 0 < v < 1, "the decay's share of the run, 0 < decay < 1",
        "wsd: the decay's share of the run (it starts at 95% of the rest of max_time at the latest)")
    decay_patience: int = integer(
        1, "wsd: validations without a better val_loss before the decay starts (below patience)")
    decay_start: int | None = optional(
        integer(0, "wsd: the step where the decay starts"), "decide while training; metrics say where")
    weight_decay: float = real(
        lambda v: 0 <= v <= 10, "a number, 0 <= weight_decay <= 10",
        "AdamW's decoupled weight decay of the weight matrices (0 = Adam; the exercise's: 0)")
    carry_state: float = real(
        lambda v: 0 <= v <= 1, "a share of rows, 0 <= carry_state <= 1",
        "> 0: batch_size streams read the text window after window, each row starting from the state the"
        " last batch ended in with this probability (char-rnn's truncated back-propagation); 0: shuffled"
        " windows (the exercise's)")
    precision: str = one_of(
        "32-true", "bf16-mixed", "auto",
        meaning="32-true, bf16-mixed (bfloat16 autocast: AVX-512 BF16 or AMX CPUs, GPUs), or auto: bf16 where"
                " native")
    accelerator: str = one_of(
        "auto", "cpu", "gpu", meaning="where to train: auto (a GPU if there is one), cpu or gpu")
    devices: int | str = param(
        lambda v: v == "auto" or (number(v, integer=True) and v >= 1), "auto or a number of devices >= 1",
        "processes per machine, one per device (GPU, or a share of the CPU cores), or auto (all GPUs)")
    num_nodes: int = integer(
        1, "machines (see docs/scaling.md); the effective batch is batch_size x devices x num_nodes")
    strategy: str = one_of(
        "auto", "ddp", meaning="auto: one process, or DDP when devices > 1; ddp: Lightning's"
                               " DistributedDataParallel")
    threads: int | None = optional(
        integer(1, "torch threads per process"), "the cores, shared among the processes on the machine")
    preview_chars: int = integer(
        0, "characters of the sample written at each validation (dvclive/samples.md; 0: none)", high=10_000)
    preview_temperature: float = real(
        lambda v: 0 <= v <= 5, "a number, 0 <= preview_temperature <= 5",
        "the temperature of those samples (0: greedy)")

    def __post_init__(self) -> None:
        if self.carry_state and self.objective != "every":
            raise CharlmError(f"train.carry_state={self.carry_state} trains on every position of consecutive"
                              " windows: set train.objective=every")
        if self.schedule == "wsd" and self.decay_start is None and self.decay_patience >= self.patience:
            raise CharlmError(f"train.decay_patience={self.decay_patience} must be below train.patience="
                              f"{self.patience}, or early stopping ends the run before the decay starts")


MAX_SAMPLE_CHARS = 10**8  # characters of samples the stage holds and writes at most


@dataclass(frozen=True)
class SampleParams:
    """Stage sample: texts at several temperatures and their word metrics."""

    prompt: str = param(
        lambda v: isinstance(v, str), "a string",
        "text to continue; empty = maxlen characters of the validation text from a line start")
    unknown: str = one_of(
        "error", "skip",
        meaning="prompt characters not in the vocabulary: error, or skip (drop them with a warning)")
    temperatures: list[float] = temperatures(
        "a set of texts per temperature (0: greedy, always the likeliest character)")
    top_k: int = integer(0, "draw only from the k likeliest characters (0: all of them)")
    top_p: float = real(
        lambda v: 0 < v <= 1, "a number with 0 < top_p <= 1",
        "draw only from the fewest likeliest characters whose probabilities reach top_p (1: all of them)")
    length: int = integer(1, "characters per generated text", high=10**6)
    count: int = integer(
        1, "texts per temperature, generated together; the word metrics pool them", high=10**4)
    recognisable_threshold: float = real(
        lambda v: 0 < v <= 1, "a number with 0 < threshold <= 1",
        "words count as no longer recognisable below this share found in the training text")

    def __post_init__(self) -> None:
        chars = self.count * self.length * len(self.temperatures)
        if chars > MAX_SAMPLE_CHARS:
            raise CharlmError(f"sample.count x sample.length x temperatures is {chars:,} characters, over"
                              f" {MAX_SAMPLE_CHARS:,}: lower sample.count or sample.length")


@dataclass(frozen=True)
class PlotParams:
    """Stage plot_softmax: tempered-softmax curves."""

    temperatures: list[float] = temperatures("one curve per temperature")
    prompt: str = param(
        lambda v: isinstance(v, str), "a string",
        "prompt for the model's next-character curve; empty = as in sample")


SECTIONS: dict[str, type] = {"corpus": CorpusParams, "prepare": PrepareParams, "model": ModelParams,
                             "train": TrainParams, "sample": SampleParams, "plot": PlotParams}
SEED = param(
    lambda v: number(v, integer=True) and 0 <= v <= MAX_SEED, f"an integer from 0 to {MAX_SEED}",
    "the random seed: weight init, batch order, sampling; same seed + data = same run")

