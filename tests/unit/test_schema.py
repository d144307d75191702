"""Every key's rule and meaning: values are accepted or refused in one line naming the key, and
params.yaml's comments say what charlm/params/schema.py says."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.project import ROOT, project_params
from charlm import params
from charlm.errors import CharlmError
from charlm.params.load import shown
from tests.helpers.config import KEYS, check_value


def comments(path) -> dict[str, str]:
    """Each key's comment in params.yaml ("section.key" -> text), continuation lines joined."""
    found: dict[str, str] = {}
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^(\s*)([a-z_0-9]+):.*?\s#\s(.*)$", line):
            indent, key, text = m.groups()
            section = key if not indent else section
            found[f"{section}.{key}" if indent else key] = text.strip()
    return found


def test_params_yaml_comments_say_what_params_py_says():
    """One meaning per key: params.yaml's comments, the schema and the generated docs cannot drift."""
    said = comments(ROOT / "params.yaml")
    assert said["seed"] == params.SeedParams.model_fields["seed"].description
    for name, cls in params.SECTIONS.items():
        for key, info in cls.model_fields.items():
            assert said[f"{name}.{key}"] == info.description, f"{name}.{key}"


@pytest.mark.parametrize(
    "key, value",
    [
        ("model.maxlen", 0), ("train.step", 0), ("prepare.val_fraction", 1.0), ("prepare.val_fraction", 0),
        ("model.dropout", 1.0), ("model.hidden_size", "abc"), ("train.lr", 0), ("train.patience", -1),
        ("train.max_epochs", 0), ("sample.temperatures", [-1]), ("sample.temperatures", []),
        ("sample.temperatures", [1.0, 1.0]), ("sample.temperatures", [1.0000001, 1.0000002]),
        ("sample.temperatures", [[0.5], 1]), ("sample.length", 0), ("corpus.sha256", "abc"), ("seed", 1.5),
        ("seed", 2**32), ("train.batch_size", True), ("corpus.strip_gutenberg", 1),
        ("train.lr", float("nan")), ("train.lr", 1e300), ("corpus.timeout", 1e300),
        ("train.val_check_interval", 1.5), ("train.val_check_interval", 0), ("train.val_check_interval", 1),
        ("train.devices", 0), ("train.devices", "all"), ("train.strategy", "fsdp"),
        ("train.accelerator", "tpu"), ("train.num_nodes", 0), ("train.threads", 0),
        ("train.schedule", "cosine"), ("corpus.gutenberg_url", "ftp://x/{id}"), ("sample.count", 10**9),
    ],
)
def test_invalid_values_name_the_key(key, value):
    values = project_params({key: value})
    with pytest.raises(CharlmError, match=re.escape(f"{key}={shown(value)}")):  # true, not True
        params.section(values, key.split(".")[0])


def test_the_ambiguous_val_check_interval_1_says_both_readings():
    with pytest.raises(CharlmError,
                       match=r"a share of an epoch \(0 < v <= 1.0, written with a point\) or a count"):
        params.section(project_params({"train.val_check_interval": 1}), "train")
    assert (params.section(project_params({"train.val_check_interval": 1.0}), "train").val_check_interval
            == 1.0)
    assert params.section(project_params({"train.val_check_interval": 50}), "train").val_check_interval == 50


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=YAML_VALUES)
def test_any_yaml_value_is_accepted_or_refused_in_one_line_naming_the_key(key, value):
    """Whatever YAML can hold (nested lists and maps, strings, huge and negative numbers, NaN,
    booleans), the checker answers with a section or one line that names the key: never a crash."""
    check_value(key, value)


