"""params.yaml, read once and checked against `charlm.params.schema`, one section at a time.

A bad value is refused with one line naming the key, what it accepts and what it got, before any
work starts. The file is read as DVC reads it (YAML 1.2: `1:30` is a string, `1e-05` a number, `yes`
no boolean), and what YAML allows but a params file never needs is refused: a key written twice
(which value would count?), aliases (`*name`, the way to a billion-laughs bomb), unknown sections.

    seed, train = load("seed", "train")     # a stage reads only its own sections
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from charlm.errors import CharlmError
from charlm.params.describe import accepts
from charlm.params.schema import SECTIONS, SeedParams

PARAMS_FILE = Path("params.yaml")


class Loader(yaml.SafeLoader):
    """YAML 1.2's core schema, as DVC (ruamel.yaml) reads params.yaml: PyYAML alone reads YAML 1.1,
    where `1:30` is 90, `1e-05` a string and `no` false. No aliases, no repeated or complex keys."""

    yaml_implicit_resolvers = {k: [(tag, regex) for tag, regex in v if tag not in (
        "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in params.yaml",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise yaml.constructor.ConstructorError(None, None, "a key must be a plain word, not a"
                                                        f" {type(key).__name__}", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                             list("tTfF"))
Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
               r"|\.(?:nan|NaN|NAN))$"), list("-+.0123456789"))
Loader.add_constructor("tag:yaml.org,2002:int", lambda loader, node: int(loader.construct_scalar(node)))


YAML_WORDS = {None: "null", True: "true", False: "false"}  # as params.yaml writes them


def shown(value: Any) -> str:
    """A value as an error message quotes it: as YAML writes null, true and false, else its repr (which
    escapes what is invisible, e.g. a zero-width space), cut short."""
    text = yaml_words(value)
    return text if len(text) <= 60 else text[:57] + "..."


def yaml_words(value: Any) -> str:
    """repr, with null, true and false as YAML writes them, inside lists and mappings too."""
    if isinstance(value, bool) or value is None:
        return YAML_WORDS[value]
    if isinstance(value, list):
        return "[" + ", ".join(yaml_words(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_words(k)}: {yaml_words(v)}" for k, v in value.items()) + "}"
    return repr(value)


def checked(model: type[BaseModel], values: dict[str, Any], where: str = "") -> Any:
    """`model` made from `values`, or a CharlmError naming the first key it refuses: what it accepts, what
    it got. `where` starts the message ("params.yaml: sample.", "charlm generate: ")."""
    try:
        return model.model_validate(values)
    except ValidationError as e:
        name = e.errors()[0]["loc"][0]
        raise CharlmError(f"{where}{name}={shown(values[name])} is invalid; expected"
                          f" {accepts(model, name)}") from None


def section(params: dict[str, Any], name: str) -> Any:
    """One section of parsed params as its model (or the seed as an int), checked key by key."""
    if name == "seed":
        if "seed" not in params:
            raise CharlmError(f"{PARAMS_FILE}: missing key 'seed'")
        return checked(SeedParams, {"seed": params["seed"]}, f"{PARAMS_FILE}: ").seed
    cls = SECTIONS[name]
    values = params.get(name)
    if not isinstance(values, dict):
        raise CharlmError(f"{PARAMS_FILE}: '{name}' must be a mapping of keys, got {shown(values)}")
    for key in values:
        if key not in cls.model_fields:
            raise CharlmError(f"{PARAMS_FILE}: unknown key {shown(f'{name}.{key}')}; {name} has"
                              f" {', '.join(sorted(cls.model_fields))}")
    for key in cls.model_fields:
        if key not in values:
            raise CharlmError(f"{PARAMS_FILE}: missing key '{name}.{key}'")
    return checked(cls, values, f"{PARAMS_FILE}: {name}.")


def read(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """The parsed file, its sections unchecked; an unknown top-level key is refused."""
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
    for key in params:
        if key != "seed" and key not in SECTIONS:
            raise CharlmError(f"{path}: unknown section {shown(key)}; params.yaml has seed,"
                              f" {', '.join(SECTIONS)}")
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
