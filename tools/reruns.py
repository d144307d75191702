"""docs/usage.md's table of what `dvc repro` reruns, made from dvc.yaml: `python -m tools.reruns`
rewrites it in the page (a test holds the page to this output).

DVC reruns a stage when one of its deps or params changed since dvc.lock recorded them. So each row
gathers the inputs that the same stages read directly (params, code, and data that no stage writes:
data/books/, data/weights/), and names those stages. A stage after them reruns only if an output it
reads came out different (DVC compares hashes): the last column lists the stages that may follow.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs/usage.md"
HEADER = "| you change | `dvc repro` runs | then, if their outputs change |"
RULE = "|---|---|---|"
PARAM = "param:"  # an input that is a params.yaml key, not a file
FIRST = ["data", "stages", "charlm"]  # the order of a row's files: data, then scripts, then the library


def outputs(stage: dict[str, Any]) -> list[str]:
    """A stage's outs and metrics (a dict entry is a path with its options)."""
    listed = stage.get("outs", []) + stage.get("metrics", [])
    return [o if isinstance(o, str) else next(iter(o)) for o in listed]


def inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def produced(path: str, stages: dict[str, Any]) -> str | None:
    """The stage whose output `path` is, or lies in."""
    makers = [name for name, stage in stages.items() if any(inside(path, o) for o in outputs(stage))]
    return makers[0] if makers else None


def successors(stages: dict[str, Any]) -> dict[str, set[str]]:
    """Each stage's later stages: those that read its outputs, and theirs."""
    after: dict[str, set[str]] = {name: set() for name in stages}
    for name, stage in stages.items():
        for dep in stage["deps"]:
            if (maker := produced(dep, stages)) is not None:
                after[maker].add(name)
    changed = True
    while changed:  # the closure: a stage's followers' followers follow it too
        changed = False
        for name, later in after.items():
            grown = later.union(*(after[n] for n in later))
            changed |= grown != later
            after[name] = grown
    return after


def readers(stages: dict[str, Any]) -> dict[str, set[str]]:
    """Each input no stage writes (a file, or PARAM + a params key) -> the stages that read it directly.
    A key inside a listed section (train.init_from in train) is read by the section's stages too."""
    found: dict[str, set[str]] = defaultdict(set)
    for name, stage in stages.items():
        for dep in stage["deps"]:
            if produced(dep, stages) is None:
                found[dep].add(name)
        for key in stage.get("params", []):
            found[PARAM + key].add(name)
    for item in [i for i in found if i.startswith(PARAM)]:
        key = item.removeprefix(PARAM)
        for section in [PARAM + key.rsplit(".", n)[0] for n in range(1, key.count(".") + 1)]:
            found[item] |= found.get(section, set())
    return found


def code_files(root: Path) -> list[str]:
    """charlm's modules, relative to `root`."""
    return sorted(str(p.relative_to(root)) for p in (root / "charlm").rglob("*.py"))


def shown_params(keys: list[str], listed: set[str], values: dict[str, Any]) -> list[str]:
    """Params as the table says them: a section as "a `train` param" (but the keys listed on their own
    elsewhere), a single key as itself."""
    said = []
    for key in keys:
        if isinstance(values.get(key), dict):
            own = sorted(k for k in listed if k.startswith(key + "."))
            but = " other than " + ", ".join(f"`{k}`" for k in own) if own else ""
            article = "an" if key[0] in "aeiou" else "a"
            said.append(f"{article} `{key}` param{but}")
        else:
            said.append(f"`{key}`")
    return said


def shown_files(files: list[str], root: Path) -> list[str]:
    """Files as the table says them: a data folder as `folder/`, a charlm folder all of whose modules are
    there as `folder/`, several modules of one folder as `folder/{a,b}.py`."""
    said = [f"`{f}/`" if (root / f).is_dir() else f"`{f}`" for f in files if not f.endswith(".py")]
    modules = sorted(f for f in files if f.endswith(".py"))
    for folder in sorted({str(Path(m).parent) for m in modules}, key=len):
        whole = [m for m in code_files(root) if inside(m, folder)]
        if folder.startswith("charlm/") and set(whole) <= set(modules):
            said.append(f"`{folder}/`")
            modules = [m for m in modules if not inside(m, folder)]
    by_folder: dict[str, list[str]] = defaultdict(list)
    for m in modules:
        by_folder[str(Path(m).parent)].append(Path(m).stem)
    for folder, stems in by_folder.items():
        names = stems[0] if len(stems) == 1 else "{" + ",".join(stems) + "}"
        said.append(f"`{folder}/{names}.py`")
    return sorted(said, key=lambda s: (rank(s.strip("`")), s))


def rank(path: str) -> int:
    """Where a path comes in a row: data, then scripts, then the library (FIRST)."""
    top = path.split("/")[0]
    return FIRST.index(top) if top in FIRST else len(FIRST)


class Row(NamedTuple):
    changed: list[str]  # what you change, as the table says it
    runs: list[str]  # the stages that read it, which `dvc repro` reruns
    later: list[str]  # the stages after them, which rerun if an output they read changes


def rows(stages: dict[str, Any], values: dict[str, Any], root: Path) -> list[Row]:
    """A row per set of stages that read the same inputs, in pipeline order, and a last row for charlm's
    modules that no stage runs."""
    order = list(stages)
    read = readers(stages)
    listed = {i.removeprefix(PARAM) for i in read if i.startswith(PARAM)}
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for item, names in read.items():
        groups[tuple(sorted(names, key=order.index))].append(item)
    after = successors(stages)
    table = []
    for names, items in sorted(groups.items(), key=lambda g: [order.index(n) for n in g[0]]):
        params = [i.removeprefix(PARAM) for i in items if i.startswith(PARAM)]
        changed = shown_params(params, listed, values) + shown_files(
            [i for i in items if not i.startswith(PARAM)], root)
        later = set().union(*(after[n] for n in names)) - set(names)
        table.append(Row(changed, list(names), sorted(later, key=order.index)))
    unused = [m for m in code_files(root) if all(m not in stage["deps"] for stage in stages.values())]
    if unused:
        table.append(Row(shown_files(unused, root), [], []))
    return table


def markdown(stages: dict[str, Any], values: dict[str, Any], root: Path) -> str:
    """The table, one row per line."""
    lines = [HEADER, RULE]
    for row in rows(stages, values, root):
        runs = "every stage" if len(row.runs) == len(stages) else ", ".join(row.runs) or "nothing"
        lines.append(f"| {', '.join(row.changed)} | {runs} | {', '.join(row.later) or 'nothing'} |")
    return "\n".join(lines) + "\n"


def project_table(root: Path = ROOT) -> str:
    """The table of the project in `root`: its dvc.yaml, params.yaml and charlm/."""
    stages = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    values = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    return markdown(stages, values, root)


def rewrite(page: str, table: str) -> str:
    """`page` with its table (from HEADER to the first line that is no table row) replaced by `table`."""
    found = re.search(rf"^{re.escape(HEADER)}\n(?:\|.*\n)*", page, re.M)
    if found is None:
        raise ValueError(f"no table headed {HEADER!r}")
    return page[: found.start()] + table + page[found.end() :]


if __name__ == "__main__":
    PAGE.write_text(rewrite(PAGE.read_text(encoding="utf-8"), project_table()), encoding="utf-8")
    print(f"wrote the table of what `dvc repro` reruns in {PAGE.relative_to(ROOT)}")
