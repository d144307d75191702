"""Params are checked at the start of a stage, with a one-line error naming the key and what it accepts."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import yaml
from conftest import ROOT, project_params, run_stage, write_params
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charlm import config
from charlm.errors import CharlmError

ALL = ("seed", *config.SECTIONS)


def test_project_params_are_valid_and_complete():
    values = config.load(*ALL, path=ROOT / "params.yaml")
    assert values[0] == 1337 and isinstance(values[3], config.Model)
    for cls in config.SECTIONS.values():  # params.yaml is the one place for values: no defaults in code
        assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(cls)), cls.__name__


@pytest.mark.parametrize(
    "key, value",
    [
        ("model.maxlen", 0), ("train.step", 0), ("prepare.val_fraction", 1.0), ("prepare.val_fraction", 0),
        ("model.dropout", 1.0), ("model.hidden_size", "abc"), ("train.lr", 0), ("train.patience", -1),
        ("train.max_epochs", 0), ("sample.temperatures", [0]), ("sample.temperatures", []),
        ("sample.temperatures", [1.0, 1.0]), ("sample.temperatures", [[0.5], 1]), ("sample.length", 0),
        ("corpus.sha256", "abc"), ("seed", 1.5), ("train.batch_size", True), ("corpus.strip_gutenberg", 1),
        ("train.lr", float("nan")), ("train.val_check_interval", 1.5), ("train.val_check_interval", 0),
        ("train.devices", 0), ("train.devices", "all"), ("train.strategy", "fsdp"), ("train.accelerator", "tpu"),
        ("train.num_nodes", 0), ("train.threads", 0),
    ],
)
def test_invalid_values_name_the_key(key, value):
    params = project_params({key: value})
    with pytest.raises(CharlmError, match=rf"{key}={value!r}".replace("[", r"\[").replace("]", r"\]")):
        config.section(params, key.split(".")[0])


def test_stage_refuses_bad_params_before_work(tmp_path):
    write_params(tmp_path, {"prepare.val_fraction": 2})
    result = run_stage("prepare", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: params.yaml: prepare.val_fraction=2 is invalid; "
                                     "expected a number with 0 < val_fraction < 1")
    assert not (tmp_path / "data").exists()


def test_missing_key_and_broken_yaml(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: 1\ncorpus: {}\n")
    with pytest.raises(CharlmError, match="missing key 'corpus.source'"):
        config.load("corpus", path=tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("seed: [1\n")
    with pytest.raises(CharlmError, match="not valid YAML"):
        config.load("corpus", path=tmp_path / "params.yaml")


def test_unknown_key_is_refused():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"]["learning_rate"] = 0.1
    with pytest.raises(CharlmError, match=r"unknown key 'train.learning_rate'; train has accelerator, batch_size, carry_state, decay, decay_patience, "):
        config.section(params, "train")


def test_a_stage_reads_only_its_own_sections():
    """A bad sample param does not stop training: each stage checks what it reads."""
    params = project_params({"sample.length": 0})
    assert config.section(params, "train").lr > 0
    with pytest.raises(CharlmError):
        config.section(params, "sample")


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
BASE = project_params({})
KEYS = ["seed"] + [f"{name}.{f.name}" for name, cls in config.SECTIONS.items() for f in dataclasses.fields(cls)]


@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=YAML_VALUES)
def test_any_yaml_value_is_accepted_or_refused_in_one_line_naming_the_key(key, value):
    """Whatever YAML can hold (nested lists and maps, strings, huge and negative numbers, NaN,
    booleans), the checker answers with a section or one line that names the key: never a crash."""
    section, _, leaf = key.rpartition(".")
    params = copy.deepcopy(BASE)
    (params[section] if section else params)[leaf] = value
    section = section or "seed"
    try:
        config.section(params, section)
    except CharlmError as e:
        message = str(e)
        assert "\n" not in message
        assert key in message or (section == "train" and "train.schedule" in message), message
