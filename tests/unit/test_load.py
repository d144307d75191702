"""params.yaml is read and checked when a stage starts, with one line naming the key and what it
accepts; numbers read as `dvc exp run -S` writes them; broken files are one line too."""

from __future__ import annotations

import io
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.project import ROOT, project_params, write_params
from charlm import params
from charlm.errors import CharlmError
from tests.helpers.config import NUMERIC, check_value
from tests.helpers.stages import run_stage

ALL = ("seed", *params.SECTIONS)


def test_project_params_are_valid_and_complete():
    values = params.load(*ALL, path=ROOT / "params.yaml")
    assert values[0] == 1337 and isinstance(values[3], params.ModelParams)
    for cls in (params.SeedParams, *params.SECTIONS.values()):  # params.yaml is the one place for values
        assert all(info.is_required() for info in cls.model_fields.values()), cls.__name__


def test_stage_refuses_bad_params_before_work(tmp_path):
    write_params(tmp_path, {"prepare.val_fraction": 2})
    result = run_stage("prepare", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: params.yaml: prepare.val_fraction=2 is invalid; "
                                     "expected a number with 0 < val_fraction < 1")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("text, message", [
    ("seed: 1\ncorpus: {}\n", "missing key 'corpus.source'"),
    ("seed: [1\n", "not valid YAML: expected ',' or ']', but got '<stream end>' at line 2, column 1"),
    ("corpus:\n\tsource: x\n", "not valid YAML: found character '\\t' that cannot start any token"
                               " at line 2, column 1"
                               " (indent with spaces: YAML does not allow tabs)"),
], ids=["missing-key", "unclosed", "tab"])
def test_missing_key_and_broken_yaml(tmp_path, text, message):
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(CharlmError, match=re.escape(message)):
        params.load("corpus", path=tmp_path / "params.yaml")


def test_a_params_file_that_is_not_utf8_is_one_line(tmp_path):
    (tmp_path / "params.yaml").write_bytes("seed: 1 # café\n".encode("latin-1"))
    with pytest.raises(CharlmError,
                       match=r"params.yaml is not UTF-8 text \(byte 0xe9 at position 13\): save it"):
        params.read(tmp_path / "params.yaml")


def test_unknown_key_is_refused():
    values = project_params({})
    values["train"]["learning_rate"] = 0.1
    with pytest.raises(CharlmError,
                       match=r"unknown key 'train.learning_rate'; train has accelerator, batch_size, "):
        params.section(values, "train")


def test_a_stage_reads_only_its_own_sections():
    """A bad sample param does not stop training: each stage checks what it reads."""
    values = project_params({"sample.length": 0})
    assert params.section(values, "train").lr > 0
    with pytest.raises(CharlmError):
        params.section(values, "sample")


def as_dvc_writes(value: float) -> str:
    """A number as `dvc exp run -S key=value` writes it into params.yaml (ruamel.yaml, YAML 1.2)."""
    from ruamel.yaml import YAML

    stream = io.StringIO()
    YAML().dump({"k": value}, stream)
    return stream.getvalue().split(": ", 1)[1].strip()


@pytest.mark.parametrize("key", NUMERIC)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**20), 10**20)
       | st.sampled_from([1e-5, 0.00001, 1e-05, 2.5e-7, 1e300, 1e-300, 3e+10, 1.0e+300]))
def test_numbers_as_dvc_writes_them_read_as_numbers(key, value):
    """Scientific notation, tiny and huge values: what `-S` writes reads back as the number it was,
    and is accepted or refused like that number, never as a string."""
    text = f"k: {as_dvc_writes(value)}\n"
    read = yaml.load(text, Loader=params.Loader)["k"]
    assert read == value and type(read) is type(value), text
    check_value(key, read)


def test_a_small_learning_rate_from_exp_run_is_accepted(tmp_path):
    """`dvc exp run -S train.lr=0.00001` writes `lr: 1e-05`: a float."""
    text = (ROOT / "params.yaml").read_text(encoding="utf-8").replace("lr: 0.01 ", "lr: 1e-05 ")
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    assert params.load("train", path=tmp_path / "params.yaml").lr == 1e-5


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("lr: 0.01 ", "lr: 1:30 "),
     "train.lr='1:30' is invalid; expected a number with 0 < lr"),
    (lambda t: t.replace("resume: true", "resume: yes"),
     "train.resume='yes' is invalid; expected true or false"),
    (lambda t: t.replace("  lr: 0.01 ", "  lr: 0.01\n  lr: 0.02 "), "key 'lr' appears twice at line"),
    (lambda t: t + "foo:\n  bar: 1\n", "unknown section 'foo'; params.yaml has seed, corpus, prepare, model"),
    (lambda t: "x: &a [1, 1]\n" + t.replace('prompt: ""', "prompt: *a", 1),
     "aliases (*name) are not allowed in params.yaml"),
    (lambda t: t.replace("num_layers: 2 ", "num_layers: 1000000000000000000000000000000 "),
     "model.num_layers=1000000000000000000000000000000 is invalid; expected an integer from 1 to 32"),
    (lambda t: t.replace("threads: null", "threads: 1000000000000000000000000000000"),
     "train.threads=1000000000000000000000000000000 is invalid; expected null or an integer from 1 to 4,096"),
    (lambda t: t.replace("top_k: 0 ", "top_k: 1000000000000000000000000000000 "),
     "sample.top_k=1000000000000000000000000000000 is invalid; expected an integer from 0 to 65,536"),
    (lambda t: t.replace("temperatures: [0.2,", "temperatures: [0.0, -0.0, 0.2,", 1),
     "sample.temperatures=[0.0, -0.0, 0.2,"),
    (lambda t: t + "? [a, b]\n: 1\n", "a key must be a plain word, not a list at line"),
    (lambda t: t.replace("  lr: 0.01 ", "  lr\u200b: 0.01 "), "unknown key 'train.lr\\u200b'"),
    (lambda t: t.replace("lr: 0.01 ", "lr: null "), "train.lr=null is invalid; expected a number"),
    (lambda t: t.replace("lr: 0.01 ", "lr: true "), "train.lr=true is invalid; expected a number"),
    (lambda t: t.replace("lrs: [0.0005,", "lrs: [null, 0.0005,"), "evaluate.lrs=[null, 0.0005,"),
    (lambda t: t.replace("temperatures: [0.2,", "temperatures: [true, 0.2,", 1),
     "sample.temperatures=[true, 0.2,"),
    (lambda t: t.replace("temperatures: [0.2,", "temperatures: [" + ", ".join(f"3.{i:03}" for i in range(94))
                         + ", 0.2,", 1), "; expected 1 to 100 numbers from 0 (greedy) to 100"),
], ids=["sexagesimal", "yes-no", "duplicate-key", "unknown-section", "alias", "huge-layers", "huge-threads",
        "huge-top-k", "signed-zero", "complex-key", "invisible-key", "null", "true", "null-in-a-list",
        "true-in-a-list", "101-temperatures"])
def test_what_yaml_allows_but_a_params_file_never_needs_is_one_line(tmp_path, edit, message):
    """Read as DVC reads it (YAML 1.2), no key twice, no aliases (a billion-laughs bomb), no unknown
    section, no number so large that it hangs a stage: one line naming what is wrong."""
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    edited = edit(text)
    assert edited != text
    (tmp_path / "params.yaml").write_text(edited, encoding="utf-8")
    with pytest.raises(CharlmError, match=re.escape(message)) as error:
        params.load(*ALL, path=tmp_path / "params.yaml")
    assert "\n" not in str(error.value)


def test_an_alias_bomb_is_refused_before_it_grows(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (tmp_path / "params.yaml").write_text("\n".join(lines) + "\nsample:\n  prompt: *a8\n", encoding="utf-8")
    with pytest.raises(CharlmError, match=re.escape("aliases (*name) are not allowed")):
        params.load("sample", path=tmp_path / "params.yaml")
