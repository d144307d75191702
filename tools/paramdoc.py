"""docs/parameters.md and params.schema.json, made from charlm/params/schema.py: `python -m tools.paramdoc`.

The page lists every key with its value in params.yaml, what it accepts, what it does and, where
measurement or the exercise decided it, why it is set so. The JSON Schema is what editors read
(params.yaml's first line names it) to complete and check keys as they are typed. A test holds both
files to this output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from charlm.params.describe import Why, accepts
from charlm.params.schema import SECTIONS, Params, SeedParams

PAGE = Path("docs/parameters.md")
SCHEMA = Path("params.schema.json")
INTRO = """# Parameters

Every key of `params.yaml`: its value there, what it accepts, and what it does. Generated from
`charlm/params/schema.py` (`python -m tools.paramdoc`, which also writes `params.schema.json`, the
JSON Schema editors use to complete and check params.yaml); a test keeps this page, the code and
params.yaml's comments the same. Change a value with `dvc exp run -S key=value` or by editing
params.yaml; a value outside what a key accepts stops the stage with one line."""
HEADER = ["| key | value | accepts | what it does |", "|---|---|---|---|"]


def shown(value: Any) -> str:
    """A value as params.yaml writes it."""
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()


def why(model: type[BaseModel], name: str) -> str:
    return next((m.text for m in model.model_fields[name].metadata if isinstance(m, Why)), "")


def rows(model: type[BaseModel], prefix: str, values: dict[str, Any]) -> list[str]:
    lines = []
    for name, info in model.model_fields.items():
        meaning = info.description + (f" *Why: {why(model, name)}*" if why(model, name) else "")
        cells = [f"`{prefix}{name}`", f"`{shown(values.get(name))}`", accepts(model, name), meaning]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def markdown(values: dict[str, Any]) -> str:
    """The page for the parsed params.yaml `values`."""
    lines = [INTRO, "", "## seed", "", *HEADER, *rows(SeedParams, "", values)]
    for name, cls in SECTIONS.items():
        lines += ["", f"## {name}", "", *HEADER, *rows(cls, f"{name}.", values.get(name, {}))]
    return "\n".join(lines) + "\n"


def json_schema() -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **Params.model_json_schema()}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    from charlm.params.load import read

    PAGE.write_text(markdown(read()), encoding="utf-8")
    SCHEMA.write_text(json_schema(), encoding="utf-8")
    print(f"wrote {PAGE} and {SCHEMA}")
