"""params.yaml, read once and checked against the rules of `charlm.params.schema`, one section at a time.

A bad value is refused with one line naming the key and what it accepts, before any work starts.

    seed, train = params.load("seed", "train")     # a stage reads only its own sections
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from charlm.errors import CharlmError
from charlm.params.schema import SECTIONS, SEED

PARAMS_FILE = Path("params.yaml")


def _check(key: str, value: Any, f: Any) -> None:
    try:
        ok = bool(f.metadata["check"](value))
    except Exception:  # e.g. an unhashable list inside a list: not what the rule accepts
        ok = False
    if not ok:
        raise CharlmError(f"{PARAMS_FILE}: {key}={value!r} is invalid; expected {f.metadata['expected']}")


def section(params: dict[str, Any], name: str) -> Any:
    """One section of parsed params as its dataclass (or the seed as an int), checked key by key."""
    if name == "seed":
        if "seed" not in params:
            raise CharlmError(f"{PARAMS_FILE}: missing key 'seed'")
        _check("seed", params["seed"], SEED)
        return params["seed"]
    cls = SECTIONS[name]
    values = params.get(name)
    if not isinstance(values, dict):
        raise CharlmError(f"{PARAMS_FILE}: '{name}' must be a mapping of keys, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise CharlmError(f"{PARAMS_FILE}: unknown key '{name}.{key}'; {name} has {known}")
    for key, f in fields.items():
        if key not in values:
            raise CharlmError(f"{PARAMS_FILE}: missing key '{name}.{key}'")
        _check(f"{name}.{key}", values[key], f)
    return cls(**values)


class Loader(yaml.SafeLoader):
    """YAML as DVC writes it: `dvc exp run -S train.lr=1e-5` writes 1e-05, a float in YAML 1.2 that
    PyYAML's YAML 1.1 reads as a string without this resolver."""


EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")  # 1e-05, 2.5E+10
Loader.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, list("-+0123456789"))


def read(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """The parsed file, unchecked."""
    try:
        params = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=Loader)
    except FileNotFoundError:
        raise CharlmError(f"{path} not found: run from the repository root") from None
    except UnicodeDecodeError as e:
        raise CharlmError(f"{path} is not UTF-8 text (byte {e.object[e.start]:#x} at position {e.start}):"
                          " save it as UTF-8") from None
    except yaml.YAMLError as e:
        raise CharlmError(f"{path} is not valid YAML: {yaml_problem(e)}") from None
    if not isinstance(params, dict):
        raise CharlmError(f"{path} must be a mapping of sections")
    return params


def yaml_problem(e: yaml.YAMLError) -> str:
    """What is wrong and where, in one line."""
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    hint = " (indent with spaces: YAML does not allow tabs)" if "'\\t'" in problem else ""
    return f"{problem}{where}{hint}"


def load(*names: str, path: Path = PARAMS_FILE) -> Any:
    """The named sections, checked, in the order asked: `seed, model = load("seed", "model")`."""
    params = read(path)
    values = tuple(section(params, name) for name in names)
    return values[0] if len(values) == 1 else values
