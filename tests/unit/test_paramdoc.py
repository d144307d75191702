"""docs/parameters.md and params.schema.json are what tools.paramdoc makes of charlm/params/schema.py,
and params.yaml validates against that schema as an editor checks it."""

from __future__ import annotations

import json

import jsonschema
import yaml

from bench.project import ROOT
from charlm.params.load import read
from tools.paramdoc import json_schema, markdown

REGENERATE = "regenerate them: python -m tools.paramdoc"


def test_the_parameters_page_is_up_to_date():
    page = (ROOT / "docs/parameters.md").read_text(encoding="utf-8")
    assert page == markdown(read(ROOT / "params.yaml")), REGENERATE


def test_every_key_is_on_the_page():
    page = markdown(read(ROOT / "params.yaml"))
    keys = ("`seed`", "`corpus.source`", "`prepare.test_fraction`", "`train.carry_state`", "`plot.prompt`")
    for key in keys:
        assert f"| {key} |" in page


def test_the_json_schema_is_up_to_date_and_params_yaml_validates_against_it():
    assert (ROOT / "params.schema.json").read_text(encoding="utf-8") == json_schema(), REGENERATE
    schema = json.loads(json_schema())
    jsonschema.Draft202012Validator.check_schema(schema)
    values = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(values, schema)  # raises on the first key an editor would mark
    assert (ROOT / "params.yaml").read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=params.schema.json\n")


def test_the_json_schema_marks_what_the_stages_refuse():
    schema = json.loads(json_schema())
    values = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    for section, key, value in [("train", "lr", 0), ("train", "learning_rate", 0.1),
                                ("model", "num_layers", "2"), ("train", "precision", "fp16"),
                                ("train", "max_epochs", 0)]:
        wrong = {**values, section: {**values[section], key: value}}
        validator = jsonschema.Draft202012Validator(schema)
        assert not validator.is_valid(wrong), (section, key, value)
