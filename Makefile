# The two entry points of the README, and the checks around them. Each creates .venv and installs the
# charlm package (pinned dependencies from requirements.txt; the test tools from pyproject's extra) first.
#   make run    install, then `dvc repro` the whole pipeline
#   make test   install, then run the whole test suite (CI runs `make lint test`)
#   make fast   the tests that need neither real DVC nor real training: the inner loop
#   make lint   ruff
#   make explore  the trained model in the browser (after make run)
VENV ?= .venv
PYTHON ?= python3
# dvc.yaml runs `python -m stages.<name>`: put the venv first on PATH so that `python` is its interpreter.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install run test fast lint explore
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

fast: install
	python -m pytest -q -m "not slow" tests

lint: install
	ruff check .

explore: install
	charlm explore
