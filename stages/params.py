"""Configuration: read `params.yaml` once, check it, and turn user mistakes into one-line errors.

Every stage calls `load()` at its start so that a bad value fails before any work is done,
and runs its `main` through `cli()` so that expected failures print one line and exit 1.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")


class CharlmError(Exception):
    """A problem the user can fix (bad param, bad corpus, missing artifact): shown as one line."""


def _number(value: Any, *, integer: bool = False) -> bool:
    if isinstance(value, bool):
        return False
    if integer:
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _sha256(value: Any) -> bool:
    return value in (None, "") or (isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{64}", value) is not None)


def _temperatures(value: Any) -> bool:
    return (isinstance(value, list) and len(value) > 0 and len(set(value)) == len(value)
            and all(_number(t) and t > 0 for t in value))


# key -> (check, what is allowed). One table, so every stage validates the same way.
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seed": (lambda v: _number(v, integer=True) and v >= 0, "an integer >= 0"),
    "corpus.source": (
        lambda v: _text(v) or (isinstance(v, list) and len(v) > 0 and all(map(_text, v))),
        "an http(s) URL, gutenberg:<id> or a file path, or a non-empty list of them",
    ),
    "corpus.gutenberg_url": (lambda v: _text(v) and "{id}" in v, "a URL template containing {id}"),
    "corpus.sha256": (
        lambda v: _sha256(v) or (isinstance(v, list) and all(map(_sha256, v))),
        "empty, a 64-digit hex sha256, or a list of them (one per source)",
    ),
    "corpus.strip_gutenberg": (lambda v: v in ("auto", True, False), "auto (for gutenberg: sources), true or false"),
    "corpus.nfc": (lambda v: isinstance(v, bool), "true or false"),
    "corpus.lowercase": (lambda v: isinstance(v, bool), "true or false"),
    "corpus.timeout": (lambda v: _number(v) and v > 0, "a number of seconds > 0"),
    "corpus.retries": (lambda v: _number(v, integer=True) and v >= 0, "an integer >= 0"),
    "corpus.max_bytes": (lambda v: _number(v, integer=True) and v > 0, "an integer > 0"),
    "prepare.val_fraction": (lambda v: _number(v) and 0 < v < 1, "a number with 0 < val_fraction < 1"),
    "prepare.maxlen": (lambda v: _number(v, integer=True) and v >= 1, "an integer >= 1"),
    "prepare.step": (lambda v: _number(v, integer=True) and v >= 1, "an integer >= 1"),
    "prepare.rare_below": (lambda v: _number(v, integer=True) and v >= 1, "an integer >= 1"),
    "model.embed_dim": (lambda v: _number(v, integer=True) and v >= 1, "an integer >= 1"),
    "model.hidden_size": (lambda v: _number(v, integer=True) and v >= 1, "an integer >= 1"),
    "model.num_layers": (lambda v: _number(v, integer=True) and v >= 1, "an integer >= 1"),
    "model.dropout": (lambda v: _number(v) and 0 <= v < 1, "a number with 0 <= dropout < 1"),
    "train.lr": (lambda v: _number(v) and v > 0, "a number > 0"),
    "train.batch_size": (lambda v: _number(v, integer=True) and v >= 1, "an integer >= 1"),
    "train.max_epochs": (
        lambda v: v is None or (_number(v, integer=True) and v >= 1), "null (no cap) or an integer >= 1"),
    "train.max_time": (lambda v: v is None or (_number(v) and v > 0), "null (no cap) or minutes > 0"),
    "train.resume": (lambda v: isinstance(v, bool), "true or false"),
    "train.objective": (lambda v: v in ("last", "every"), "last (the seed's: loss on the window's last character) or every"),
    "train.schedule": (lambda v: v in ("constant", "cosine"), "constant or cosine"),
    "train.warmup": (lambda v: _number(v) and 0 <= v < 1, "a fraction of the training steps, 0 <= warmup < 1"),
    "train.grad_clip": (lambda v: v is None or (_number(v) and v > 0), "null (no clipping) or a norm > 0"),
    "train.patience": (lambda v: _number(v, integer=True) and v >= 0, "an integer >= 0"),
    "sample.prompt": (lambda v: isinstance(v, str), "a string (empty: a window of the validation text)"),
    "sample.temperatures": (_temperatures, "a non-empty list of distinct numbers > 0"),
    "sample.unknown": (lambda v: v in ("error", "skip"), "error or skip"),
    "sample.count": (lambda v: _number(v, integer=True) and v >= 1, "an integer >= 1"),
    "sample.length": (lambda v: _number(v, integer=True) and v >= 1, "an integer >= 1"),
    "sample.recognisable_threshold": (lambda v: _number(v) and 0 < v <= 1, "a number with 0 < threshold <= 1"),
    "plot.temperatures": (_temperatures, "a non-empty list of distinct numbers > 0"),
    "plot.prompt": (lambda v: isinstance(v, str), "a string (empty: a window of the validation text)"),
}


def _lookup(params: dict[str, Any], dotted: str) -> Any:
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise CharlmError(f"{PARAMS_FILE}: missing key '{dotted}'")
        node = node[part]
    return node


def validate(params: dict[str, Any], sections: tuple[str, ...]) -> None:
    """Check every rule of the given sections (plus `seed`); raise CharlmError on the first bad value."""
    for section in sections:
        known = sorted(k.split(".", 1)[1] for k in RULES if k.startswith(f"{section}."))
        for key in _lookup(params, section) if isinstance(params.get(section), dict) else ():
            if key not in known:
                raise CharlmError(f"{PARAMS_FILE}: unknown key '{section}.{key}'; {section} has {', '.join(known)}")
    for key, (ok, allowed) in RULES.items():
        if key.split(".")[0] not in sections and key != "seed":
            continue
        value = _lookup(params, key)
        if not ok(value):
            raise CharlmError(f"{PARAMS_FILE}: {key}={value!r} is invalid; expected {allowed}")


def load(*sections: str, path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Read params (safe_load) and validate the sections a stage uses."""
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CharlmError(f"{path} not found: run from the repository root") from None
    except yaml.YAMLError as e:
        raise CharlmError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(params, dict):
        raise CharlmError(f"{path} must be a mapping of sections")
    validate(params, sections)
    return params


def cli(main: Callable[[], None]) -> None:
    """Run a stage's main; a CharlmError becomes `error: ...` on stderr and exit status 1."""
    try:
        main()
    except CharlmError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
