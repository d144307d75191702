"""The layout's promises: stages are thin scripts over charlm, and dvc.yaml lists exactly the code each
runs."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
import yaml

from bench.project import ROOT
from tools.deps import charlm_closure, imported_modules, module_file

STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


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
    for path in sorted((ROOT / "charlm").rglob("*.py")):
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
    modules = {p.stem for p in (ROOT / "charlm").rglob("*.py")} - {"__init__", "__main__"}
    tests = {p.stem.removeprefix("test_") for p in (ROOT / "tests").rglob("test_*.py")}
    assert not sorted(modules - tests), "no tests/{unit,system}/test_<module>.py for these"


# charlm's floors, lowest first: a module imports from its own floor or the ones below, never above
LAYERS = [("errors", "files", "confined", "labels"), ("params",), ("text",), ("model",), ("sample",),
          ("evaluate",), ("train",), ("app",)]


def floor(module: str) -> int:
    part = module.split(".")[1]
    return next(i for i, names in enumerate(LAYERS) if part in names)


def import_graph() -> dict[str, set[str]]:
    """charlm module -> the charlm modules it imports (the package façades charlm/__init__.py and
    __main__.py left out: they stand above every floor)."""
    graph = {}
    for path in (ROOT / "charlm").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if module in ("charlm", "charlm.__main__"):
            continue
        graph[module] = {m for m in imported_modules(path)
                         if m.startswith("charlm.") and module_file(m) is not None}
    return graph


def test_imports_point_down_the_floors_and_never_in_a_circle():
    graph = import_graph()
    upward = [(a, b) for a, targets in graph.items() for b in targets if floor(b) > floor(a)]
    assert not upward, f"imports from a higher floor: {upward}"
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"an import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for target in graph.get(module, ()):
            if target != module.rpartition(".")[0]:  # a module's own package __init__ is not a cycle
                visit(target, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


@pytest.mark.parametrize("module, heavy", [("charlm.text.corpus", "torch"), ("charlm.app.cli", "torch"),
                                           ("charlm.sample.generate", "lightning")])
def test_light_modules_do_not_load_heavy_ones(module, heavy):
    """charlm/__init__ exports lazily: downloading does not pay for torch, `charlm --help` neither, and
    generating not for Lightning."""
    code = f"import sys, charlm, {module}; assert {heavy!r} not in sys.modules, {heavy!r}"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    assert importlib.import_module("charlm").tempered_softmax.__module__ == "charlm.sample.temperature"
