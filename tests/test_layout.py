"""The layout's promises: stages are thin scripts over charlm, and dvc.yaml lists exactly the code each
runs."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a Python file imports when it runs (`from charlm import config` counts as
    charlm.config; imports under `if TYPE_CHECKING:` do not run)."""
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
                      if (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").is_file()}
    return found


def charlm_closure(path: Path) -> set[str]:
    """Every charlm file that running `path` executes: its charlm imports, theirs, and the package's
    __init__."""
    files, todo = set(), [m for m in imported_modules(path) if m.split(".")[0] == "charlm"]
    while todo:
        module = todo.pop()
        file = ROOT / (module.replace(".", "/") + ".py")
        if module == "charlm" or not file.is_file() or file in files:
            continue
        files.add(file)
        todo += [m for m in imported_modules(file) if m.split(".")[0] == "charlm"]
    return {str(f.relative_to(ROOT)) for f in files} | {"charlm/__init__.py"}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_dvc_deps_list_exactly_the_code_a_stage_runs(stage):
    script = f"stages/{stage}.py"
    assert STAGES[stage]["cmd"] == f"python -m stages.{stage}"
    listed = {d for d in STAGES[stage]["deps"] if d.endswith(".py")}
    assert listed == {script} | charlm_closure(ROOT / script)


def test_no_stage_imports_another():
    for path in sorted((ROOT / "stages").glob("*.py")):
        bad = {m for m in imported_modules(path) if m.split(".")[0] == "stages"}
        assert not bad, f"{path.name} imports {bad}: move the shared code into charlm/"
    assert not (ROOT / "stages/__init__.py").exists()  # code every stage would run without dvc.yaml knowing


def test_library_knows_nothing_of_dvc():
    for path in sorted((ROOT / "charlm").glob("*.py")):
        assert not {m for m in imported_modules(path)
                    if m.split(".")[0] in ("dvc", "dvclive", "stages")}, path.name


def test_the_exercise_names_import_from_charlm():
    import inspect

    from charlm import CharDataset, LitCharRNN, tempered_softmax

    assert list(inspect.signature(CharDataset).parameters)[:3] == ["data_dir", "maxlen", "step"]
    assert inspect.signature(CharDataset).parameters["maxlen"].default == 40
    assert inspect.signature(CharDataset).parameters["step"].default == 3
    defaults = {k: p.default for k, p in inspect.signature(LitCharRNN).parameters.items()}
    assert list(defaults)[0] == "vocab_size"
    assert {k: defaults[k] for k in ("embed_dim", "hidden_size", "dropout", "lr")} == \
        {"embed_dim": 64, "hidden_size": 128, "dropout": 0.2, "lr": 5e-3}
    assert list(inspect.signature(tempered_softmax).parameters) == ["preds", "T"]


def test_each_library_module_has_its_test_file():
    modules = {p.stem for p in (ROOT / "charlm").glob("*.py")} - {"__init__", "__main__"}
    missing = sorted(m for m in modules if not (ROOT / f"tests/test_{m}.py").is_file())
    assert not missing, f"no tests/test_<module>.py for {missing}"


@pytest.mark.parametrize("module, heavy", [("charlm.corpus", "torch"), ("charlm.cli", "torch"),
                                           ("charlm.generate", "lightning")])
def test_light_modules_do_not_load_heavy_ones(module, heavy):
    """charlm/__init__ exports lazily: downloading does not pay for torch, `charlm --help` neither, and
    generating not for Lightning."""
    code = f"import sys, charlm, {module}; assert {heavy!r} not in sys.modules, {heavy!r}"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    assert importlib.import_module("charlm").tempered_softmax.__module__ == "charlm.temperature"
