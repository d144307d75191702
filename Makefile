# The two entry points of the README, and the checks around them. Each creates .venv and installs the
# charlm package (pinned dependencies from requirements.txt; the test tools from pyproject's extra) first.
#   make run    install, then `dvc repro` the whole pipeline
#   make test   install, then run the whole test suite (CI runs `make lint test`)
#   make fast   the tests that need neither real DVC nor real training: the inner loop
#   make lint   ruff
#   make explore  the trained model in the browser (after make run)
#   make quick  the pipeline with 2 minutes of training: an experiment named quick; params.yaml stays as it is
#   make notebook  the exercise, step by step, in JupyterLab (notebooks/exercise.ipynb)
VENV ?= .venv
PYTHON ?= python3
# dvc.yaml runs `python -m stages.<name>`: put the venv first on PATH so that `python` is its interpreter.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install run quick test fast lint explore notebook
install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[test]"
	touch $@

run: install
	dvc repro

quick: install
	cp params.yaml .params.yaml.quick
	dvc exp run -f -n quick -S train.max_time=2; status=$$?; mv .params.yaml.quick params.yaml; exit $$status

test: install
	python -m pytest -q tests

fast: install
	python -m pytest -q -m "not slow" tests

lint: install
	ruff check .

explore: install
	charlm explore

notebook: install
	$(VENV)/bin/python -m pip install --quiet -e ".[notebook]"
	jupyter lab notebooks/exercise.ipynb
