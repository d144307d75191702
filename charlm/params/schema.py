"""Every key of params.yaml: what it accepts and what it means, as pydantic models, one per section.

The models have no defaults: params.yaml is the one place where values live, so a key missing from
the file is an error, not a silent fallback. A key's `description` is its comment in params.yaml
(a test holds them together), docs/parameters.md and params.schema.json (which editors use to
complete and check params.yaml) are generated from here, and what a key accepts is said by its
bounds, or by `Accepts` where they cannot say it (charlm.params.describe). `charlm.params.load` reads
the file against these.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from charlm.errors import CharlmError
from charlm.params.controls import (
    MAX_VOCAB,
    Controls,
    Count,
    Length,
    Seed,
    Temperatures,
    TopK,
    TopP,
    check_output,
)
from charlm.params.describe import Accepts, Why

# The largest network params.yaml or a checkpoint may declare: far beyond what trains on a CPU, small
# enough that a typo or a crafted checkpoint is refused before anything is allocated.
MODEL_LIMITS = {"vocab_size": MAX_VOCAB, "maxlen": 65_536, "embed_dim": 8192, "hidden_size": 8192,
                "num_layers": 32}


def key(meaning: str, **bounds: Any) -> Any:
    """A required key that means `meaning`, within pydantic's `bounds` (ge, gt, le, lt)."""
    return Field(description=meaning, **bounds)


def _text(v: str) -> str:
    if not v.strip():
        raise ValueError("empty")
    return v


def _sha256(v: str) -> str:
    if v and not re.fullmatch(r"[0-9a-fA-F]{64}", v):
        raise ValueError("not a sha256")
    return v


def _gutenberg_url(v: str) -> str:
    if "{id}" not in v or not v.startswith(("http://", "https://")):
        raise ValueError("not a template")
    return v


def _val_check(v: Any) -> float | int:
    """A share of an epoch, written with a point (0.25, 1.0), or a count of batches (an integer >= 2)."""
    if isinstance(v, float) and math.isfinite(v) and 0 < v <= 1:
        return v
    if type(v) is int and v >= 2:
        return v
    raise ValueError("neither a share nor a count")


Text = Annotated[str, AfterValidator(_text)]
Sha256 = Annotated[str, AfterValidator(_sha256)]
Fraction = Annotated[float, Field(gt=0, lt=1)]


class Section(BaseModel):
    """A params.yaml section: every key required, no other key, no type coerced (YAML's 1 is no 1.0...
    except where a number is asked for), no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class CorpusParams(Section):
    """Stage download: where the text comes from and how it is cleaned."""

    source: Annotated[Text | Annotated[list[Text], Field(min_length=1)], Accepts(
        "a file in data/books/, an http(s) URL or gutenberg:<id>, or a non-empty list of them")] = key(
        "the text to learn: a file in data/books/, an http(s) URL, gutenberg:<id>, or a list of these")
    gutenberg_url: Annotated[str, AfterValidator(_gutenberg_url), Accepts(
        "an http(s) URL template containing {id}")] = key(
        "where gutenberg:<id> is fetched (a mirror can stand in)")
    sha256: Annotated[Sha256 | list[Sha256 | None] | None, Accepts(
        "empty, a 64-digit hex sha256, or a list of them (one per source)")] = key(
        "optional pin of the raw bytes (a list: one per source); a mismatch is refused before anything is"
        " written")
    strip_gutenberg: Annotated[Literal["auto"] | bool, Accepts("auto, true or false")] = key(
        "remove the Project Gutenberg header and footer: auto (gutenberg: sources only), true, false")
    nfc: bool = key("Unicode NFC normalisation (merges composed and decomposed accents)")
    lowercase: bool = key("lower-case the whole text (as the Keras example does): a smaller vocabulary")
    timeout: float = key("seconds to wait for the server to connect or send the next bytes", gt=0, le=3600)
    max_seconds: float = key("seconds one source's download may take in all, retries included", gt=0,
                             le=86400)
    retries: int = key("retries after a server error or a cut connection, with exponential backoff", ge=0,
                       le=20)
    max_bytes: int = key("refuse a source larger than this many bytes", ge=1, le=10**15)

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


class PrepareParams(Section):
    """Stage prepare: the split and the character report."""

    val_fraction: Fraction = key(
        "the share of the text before the test split that is the validation split (selects the model)")
    test_fraction: Fraction = key("the last share of the text is the test split: held out, read once after"
                                  " training")
    rare_below: int = key("report characters seen fewer than this many times (often stray symbols)", ge=1,
                          le=10**15)

    @model_validator(mode="after")
    def _leaves_training_text(self) -> PrepareParams:
        held_out = self.val_fraction + self.test_fraction
        if held_out >= 1:
            raise CharlmError(f"prepare.val_fraction + prepare.test_fraction is {held_out:g}: it must leave"
                              " some text to train on (below 1)")
        return self


class ModelParams(Section):
    """Stage train: LitCharRNN's shape, saved in its checkpoint."""

    maxlen: int = key("characters of context per training window (sample and plot_softmax read it from the"
                      " model)", ge=1, le=MODEL_LIMITS["maxlen"])
    embed_dim: int = key("character embedding size", ge=1, le=MODEL_LIMITS["embed_dim"])
    hidden_size: int = key("LSTM units per layer, also the width of the dense layer (the exercise's: 128)",
                           ge=1, le=MODEL_LIMITS["hidden_size"])
    num_layers: int = key("stacked LSTM layers", ge=1, le=MODEL_LIMITS["num_layers"])
    dropout: Annotated[float, Why(
        "0.1 gave the lowest validation losses of the settings tried at 10 minutes on an fp32 CPU"
        " (docs/results.md)")] = key("dropout between LSTM layers and in the head (the exercise's: 0.2)",
                                     ge=0, lt=1)


class TrainParams(Section):
    """Stage train: windows and optimisation."""

    step: int = key("with carry_state 0: a training window starts every `step` characters (the exercise's:"
                    " 3)", ge=1, le=10**9)
    lr: float = key("AdamW's learning rate, the peak of the schedule (the exercise's: 0.005)", gt=0, le=100)
    batch_size: int = key("windows per optimiser step (the exercise's: 128)", ge=1, le=2**20)
    init_from: Text | None = key(
        "start from this checkpoint's weights (a file in data/weights/, the same embed_dim, hidden_size and"
        " num_layers): the vocabulary becomes the union of both; null: fresh weights")
    max_epochs: Annotated[int, Field(ge=1, le=10**6)] | None = key(
        "cap on passes over the training windows; null: no cap")
    max_time: Annotated[float, Field(gt=0, le=10**6)] | None = key(
        "cap on training time in minutes, validation included; null: no cap")
    val_check_interval: Annotated[float | int, PlainValidator(_val_check), WithJsonSchema({"anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": 1}, {"type": "integer", "minimum": 2}]}),
        Accepts("a share of an epoch (0 < v <= 1.0, written with a point) or a count of batches (an integer"
                " >= 2)")] = key(
        "validate and checkpoint every this share of an epoch (0.25), or every N batches (an integer)")
    patience: int = key("EarlyStopping: validations without a better val_loss before stopping", ge=0,
                        le=10**6)
    resume: bool = key("continue an interrupted run (same params and data) from models/run/")
    objective: Literal["last", "every"] = key(
        "loss on every position of each window, or on its last character only (last: the exercise's)")
    schedule: Annotated[Literal["constant", "wsd"], Why(
        "wsd: the decay fits any machine's speed, since it starts when the time cap nears (or validation"
        " stalls)")] = key(
        "learning rate: constant (the exercise's), or wsd: warm-up, stable, then down to lr/10 when the time"
        " runs low (without max_time: when val_loss stalls); the run ends when the decay does")
    warmup: Annotated[float, Why(
        "0: no gain measured at lr 0.01 and batch 64; it stays for larger learning rates and batches"
        " (several DDP processes), which need one")] = key("wsd: the warm-up's share of the first epoch",
                                                           ge=0, lt=1)
    decay: float = key("wsd: the decay's share of the run (with max_time: the last this share of the time)",
                       gt=0, lt=1)
    decay_patience: int = key("wsd without max_time: validations without a better val_loss before the decay"
                              " starts (below patience)", ge=1, le=10**6)
    decay_start: Annotated[int, Field(ge=0, le=10**15)] | None = key(
        "wsd: the step where the decay starts; null: decide while training (metrics say where)")
    weight_decay: float = key("AdamW's decoupled weight decay of the weight matrices (0 = Adam; the"
                              " exercise's: 0)", ge=0, le=10)
    ema: float = key("a moving average of the weights, which validation scores and the checkpoints keep: its"
                     " horizon as a share of the steps so far (0.1: about the last tenth; 0: none, the last"
                     " weights)", ge=0, le=1)
    carry_state: float = key(
        "> 0: batch_size streams read the text window after window, each row starting from the state the"
        " last batch ended in with this probability (char-rnn's truncated back-propagation); 0: shuffled"
        " windows (the exercise's)", ge=0, le=1)
    precision: Literal["32-true", "bf16-mixed", "auto"] = key(
        "32-true, bf16-mixed (bfloat16 autocast: AVX-512 BF16 or AMX CPUs, GPUs), or auto: bf16 where native")
    accelerator: Literal["auto", "cpu", "gpu"] = key(
        "where to train: auto (a GPU if there is one), cpu or gpu")
    devices: Literal["auto"] | Annotated[int, Field(ge=1, le=4096)] = key(
        "processes per machine, one per device (GPU, or a share of the CPU cores), or auto (all GPUs)")
    num_nodes: int = key("machines (see docs/scaling.md); the effective batch is batch_size x devices x"
                         " num_nodes", ge=1, le=4096)
    strategy: Literal["auto", "ddp"] = key(
        "auto: one process, or DDP when devices > 1; ddp: Lightning's DistributedDataParallel")
    threads: Annotated[int, Field(ge=1, le=4096)] | None = key(
        "torch threads per process; null: the cores, shared among the processes on the machine")
    preview_chars: int = key("characters of the sample written at each validation (dvclive/samples.md; 0:"
                             " none)", ge=0, le=10_000)
    preview_temperature: float = key("the temperature of those samples (0: greedy)", ge=0, le=5)

    @model_validator(mode="after")
    def _consistent(self) -> TrainParams:
        if self.carry_state and self.objective != "every":
            raise CharlmError(f"train.carry_state={self.carry_state} trains on every position of consecutive"
                              " windows: set train.objective=every")
        if self.schedule == "wsd" and self.decay_start is None and self.decay_patience >= self.patience:
            raise CharlmError(f"train.decay_patience={self.decay_patience} must be below train.patience="
                              f"{self.patience}, or early stopping ends the run before the decay starts")
        return self


class SampleParams(Section):
    """Stage sample: texts at several temperatures and their word metrics."""

    prompt: str = key("text to continue; empty = maxlen characters of the validation text from a line start",
                      max_length=10_000)
    unknown: Literal["error", "skip"] = key(
        "prompt characters not in the vocabulary: error, or skip (drop them with a warning)")
    temperatures: Temperatures = key("a set of texts per temperature (0: greedy, always the likeliest"
                                     " character)")
    top_k: TopK = key("draw only from the k likeliest characters (0: all of them)")
    top_p: TopP = key("draw only from the fewest likeliest characters whose probabilities reach top_p (1: all"
                      " of them)")
    length: Length = key("characters per generated text")
    count: Count = key("texts per temperature, generated together; the word metrics pool them and the"
                       " crossing's interval resamples them")
    recognisable_threshold: float = key(
        "words count as no longer recognisable below this share found in the training text", gt=0, le=1)
    min_letters: int = key("words with fewer letters are not scored: short fragments match training words by"
                           " chance", ge=1, le=20)
    refine: int = key("temperatures added between the two grid points around the crossing (spaced in log T);"
                      " 0: none", ge=0, le=20)

    @model_validator(mode="after")
    def _bounded_output(self) -> SampleParams:
        check_output(self.count * self.length * (len(self.temperatures) + self.refine),
                     "sample.count, sample.length or sample.temperatures")
        return self

    def controls(self, seed: int) -> Controls:
        return Controls(temperatures=self.temperatures, top_k=self.top_k, top_p=self.top_p,
                        length=self.length, count=self.count, seed=seed)


class PlotParams(Section):
    """Stage plot_softmax: tempered-softmax curves."""

    temperatures: Temperatures = key("one curve per temperature")
    prompt: str = key("prompt for the model's next-character curve; empty = as in sample", max_length=10_000)


def _distinct_rates(v: list[float]) -> list[float]:
    if len(set(v)) != len(v):
        raise ValueError("repeated")
    return v


class EvaluateParams(Section):
    """Stage evaluate: the test text read once, as it is and with dynamic evaluation."""

    rule: Annotated[Literal["sgd", "rms"], Why(
        "rms scored the default model's validation text 0.03 nats lower than sgd's best learning rate"
        " (docs/results.md)")] = key(
        "dynamic evaluation's update: sgd, or rms (each weight's step scaled by its usual gradient, and"
        " pulled back toward the trained weights)")
    lrs: Annotated[list[Annotated[float, Field(ge=0, le=100)]], Field(min_length=1, max_length=8),
                   AfterValidator(_distinct_rates), Accepts(
        "a list of 1 to 8 different numbers from 0 to 100")] = key(
        "learning rates tried on the validation text; the best one reads the test text (one: no search; 0:"
        " no learning)")
    decay: float = key("rms: the share of its distance back to the trained weights a weight goes at each"
                       " step (scaled as its step is)", ge=0, le=1)
    segment: Annotated[int, Why("at most 10,000: the backward pass over a segment holds its activations,"
                                " 3 GB for a million characters")] = key(
        "characters scored, then learnt from, at a time (the LSTM's state carried)", ge=1, le=10_000)
    search_chars: int = key("the search reads the last this many characters of the validation text (rms:"
                            " its gradient statistics too)", ge=1, le=10**12)

    @model_validator(mode="after")
    def _enough_to_search(self) -> EvaluateParams:
        if self.search_chars < 2 * self.segment:
            raise CharlmError(f"evaluate.search_chars={self.search_chars} is less than two segments of"
                              f" evaluate.segment={self.segment}: the search would score (almost) nothing;"
                              f" raise it to {2 * self.segment} or more")
        return self


class SeedParams(Section):
    """The top-level seed, which every stage that draws random numbers reads."""

    seed: Seed = key("the random seed: weight init, batch order, sampling; same seed + data = same run")


class Params(SeedParams):
    """The whole of params.yaml: the seed and one mapping per section (params.schema.json is made from
    this)."""

    corpus: CorpusParams
    prepare: PrepareParams
    model: ModelParams
    train: TrainParams
    evaluate: EvaluateParams
    sample: SampleParams
    plot: PlotParams


SECTIONS: dict[str, type[Section]] = {name: f.annotation for name, f in Params.model_fields.items()
                                      if name != "seed"}  # type: ignore[misc]

