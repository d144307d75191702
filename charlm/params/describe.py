"""How params.yaml's keys are described in words: what each accepts, for error messages and
docs/parameters.md, derived from its type and bounds, or said by `Accepts` where they cannot say it;
`Why` a key is set as it is, for the docs."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class Accepts:
    """What a key accepts, in words, where its type and bounds cannot say it."""

    text: str


@dataclass(frozen=True)
class Why:
    """Why a key is set as it is, where measurement or the exercise decided it (the docs say it)."""

    text: str


def accepts(model: type[BaseModel], name: str) -> str:
    """What key `name` of `model` accepts, in the words of error messages and docs/parameters.md."""
    info = model.model_fields[name]
    return _accepts(info.annotation, info.metadata, name)


def _accepts(annotation: Any, metadata: list[Any], name: str) -> str:
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        return _accepts(inner, [*extra, *metadata], name)
    flat = [m for item in metadata for m in (item.metadata if isinstance(item, FieldInfo) else [item])]
    if said := [m.text for m in flat if isinstance(m, Accepts)]:
        return said[0]
    if get_origin(annotation) in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        null = "null or " if len(options) < len(get_args(annotation)) else ""
        return null + " or ".join(_accepts(a, [], name) for a in options)
    if get_origin(annotation) is Literal:
        shown = [str(v).lower() if isinstance(v, bool) else str(v) for v in get_args(annotation)]
        return " or ".join([", ".join(shown[:-1]), shown[-1]]) if len(shown) > 1 else shown[0]
    if annotation is bool:
        return "true or false"
    if annotation is str:
        longest = [m.max_length for m in flat if isinstance(m, at.MaxLen)]
        return f"a string of at most {longest[0]:,} characters" if longest else "a string"
    low = next(((m.ge, "<=") for m in flat if isinstance(m, at.Ge)), None) or \
        next(((m.gt, "<") for m in flat if isinstance(m, at.Gt)), None)
    high = next(((m.le, "<=") for m in flat if isinstance(m, at.Le)), None) or \
        next(((m.lt, "<") for m in flat if isinstance(m, at.Lt)), None)
    if annotation is int:
        if low and high:
            return f"an integer from {low[0] + (low[1] == '<'):,} to {high[0] - (high[1] == '<'):,}"
        return f"an integer >= {low[0]:,}" if low else "an integer"
    if not (low or high):
        return "a number"
    bounds = f"{_number(low[0])} {low[1]} " if low else ""
    return f"a number with {bounds}{name} {high[1]} {_number(high[0])}" if high else \
        f"a number >= {_number(low[0])}"


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"
