"""Params are checked at the start of a stage, with a one-line error naming the key and what it accepts."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT, run_stage, write_params

from stages.params import CharlmError, load, validate

ALL = ("corpus", "prepare", "model", "train", "sample", "plot")


def test_project_params_are_valid():
    load(*ALL, path=ROOT / "params.yaml")


@pytest.mark.parametrize(
    "key, value",
    [
        ("prepare.maxlen", 0), ("prepare.step", 0), ("prepare.val_fraction", 1.0), ("prepare.val_fraction", 0),
        ("model.dropout", 1.0), ("model.hidden_size", "abc"), ("train.lr", 0), ("train.patience", -1),
        ("train.max_epochs", 0), ("sample.temperatures", [0]), ("sample.temperatures", []), ("sample.temperatures", [1.0, 1.0]),
        ("sample.length", 0), ("corpus.sha256", "abc"), ("seed", 1.5), ("train.batch_size", True),
    ],
)
def test_invalid_values_name_the_key(key, value):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    section, _, leaf = key.rpartition(".")
    (params[section] if section else params)[leaf] = value
    with pytest.raises(CharlmError, match=rf"{key}={value!r}".replace("[", r"\[").replace("]", r"\]")):
        validate(params, ALL)


def test_stage_refuses_bad_params_before_work(tmp_path):
    write_params(tmp_path, {"prepare.val_fraction": 2})
    result = run_stage("prepare", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: params.yaml: prepare.val_fraction=2 is invalid; expected a number with 0 < val_fraction < 1"
    assert not (tmp_path / "data").exists()


def test_missing_key_and_broken_yaml(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    with pytest.raises(CharlmError, match="missing key 'corpus.source'"):
        load("corpus", path=tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("seed: [1\n")
    with pytest.raises(CharlmError, match="not valid YAML"):
        load("corpus", path=tmp_path / "params.yaml")


def test_unknown_key_is_refused():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"]["learning_rate"] = 0.1
    with pytest.raises(CharlmError, match=r"unknown key 'train.learning_rate'; train has batch_size, grad_clip, lr, "):
        validate(params, ALL)
