"""dvc.yaml's code deps, from the imports: `python -m tools.deps` rewrites each stage's list of charlm
files to exactly what running its script executes (a test checks that they agree).

A stage reruns when one of its deps changes, so the list must hold every module the stage imports,
the modules those import, and the __init__ of every package on the way, and nothing else.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DVC_YAML = ROOT / "dvc.yaml"


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a Python file imports when it runs (`from charlm.text import corpus` counts
    as charlm.text.corpus; imports under `if TYPE_CHECKING:` do not run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
                   for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if module_file(f"{node.module}.{alias.name}") is not None}
    return found


def module_file(module: str) -> Path | None:
    """The file of a charlm module or package, if there is one."""
    base = ROOT / module.replace(".", "/")
    for file in (base.with_suffix(".py"), base / "__init__.py"):
        if file.is_file():
            return file
    return None


def charlm_closure(path: Path) -> set[str]:
    """Every charlm file that running `path` executes: its charlm imports, theirs, and the __init__ of
    every package on the way (Python runs them first)."""
    files: set[Path] = set()
    todo = [m for m in imported_modules(path) if m.split(".")[0] == "charlm"]
    while todo:
        module = todo.pop()
        parts = module.split(".")
        todo += [".".join(parts[:n]) for n in range(1, len(parts))]  # the packages above it
        file = module_file(module)
        if file is None or file in files:
            continue
        files.add(file)
        todo += [m for m in imported_modules(file) if m.split(".")[0] == "charlm"]
    return {str(f.relative_to(ROOT)) for f in files}


def rewrite(text: str) -> str:
    """dvc.yaml's text with each stage's charlm deps (the lines after its script) replaced by the closure."""
    out, lines = [], text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        out.append(lines[i])
        script = re.match(r"^(\s+)- (stages/\w+\.py)\s*$", lines[i])
        i += 1
        if script:
            while i < len(lines) and re.match(r"^\s+- charlm/\S+\.py\s*$", lines[i]):
                i += 1
            out += [f"{script.group(1)}- {f}\n" for f in sorted(charlm_closure(ROOT / script.group(2)))]
    return "".join(out)


if __name__ == "__main__":
    DVC_YAML.write_text(rewrite(DVC_YAML.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the code deps of {DVC_YAML.name}")
