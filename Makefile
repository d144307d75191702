# The two entry points of the README. Both create .venv and install the charlm package
# (pinned dependencies from requirements.txt, pytest for the tests) first.
#   make run    install, then `dvc repro` the whole pipeline
#   make test   install, then run the test suite
VENV ?= .venv
PYTHON ?= python3
# dvc.yaml runs `python -m stages.<name>`: put the venv first on PATH so that `python` is its interpreter.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install run test
install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[test]"
	touch $@

run: install
	dvc repro

test: install
	python -m pytest -q tests
