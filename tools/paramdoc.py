"""docs/parameters.md, made from charlm/params/schema.py: `python -m tools.paramdoc > docs/parameters.md`.

The page lists every key with its value in params.yaml, what it accepts, what it does and, where
measurement or the exercise decided it, why it is set so. A test holds the page to this output.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from charlm.params.schema import SECTIONS, SEED

INTRO = """# Parameters

Every key of `params.yaml`: its value there, what it accepts, and what it does. Generated from
`charlm/params/schema.py` (`python -m tools.paramdoc > docs/parameters.md`); a test keeps this page, the
code and params.yaml's comments the same. Change a value with `dvc exp run -S key=value` or by
editing params.yaml; a value outside what a key accepts stops the stage with one line."""


def shown(value: Any) -> str:
    """A value as params.yaml writes it."""
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()


def row(key: str, value: Any, f: Any) -> str:
    meta = f.metadata
    meaning = meta["meaning"] + (f" *Why: {meta['why']}*" if meta["why"] else "")
    cells = [f"`{key}`", f"`{shown(value)}`", meta["expected"], meaning]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown(values: dict[str, Any]) -> str:
    """The page for the parsed params.yaml `values`."""
    lines = [INTRO, "", "## seed", "", "| key | value | accepts | what it does |", "|---|---|---|---|",
             row("seed", values.get("seed"), SEED)]
    for name, cls in SECTIONS.items():
        lines += ["", f"## {name}", "", "| key | value | accepts | what it does |", "|---|---|---|---|"]
        section = values.get(name, {})
        lines += [row(f"{name}.{f.name}", section.get(f.name), f) for f in dataclasses.fields(cls)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from charlm.params.load import read

    print(markdown(read()), end="")
