# The two entry points of the README, and the checks around them. Each creates .venv and installs what it
# needs first, hash-checked from a lock in requirements/ (run.txt: running; test.txt: that plus the test tools;
# notebook.txt: that plus JupyterLab), then charlm itself, editable.
#   make run    install, then `dvc repro` the whole pipeline
#   make test   install with the test tools, then run the whole test suite (CI runs `make lint test`)
#   make fast   the unit tests (tests/unit/: no real DVC, training or browser): the inner loop
#   make lint   ruff
#   make explore  the trained model in the browser (after make run)
#   make quick  the pipeline with 2 minutes of training: an experiment named quick; params.yaml stays as it is
#   make notebook  the exercise, step by step, in JupyterLab (notebooks/exercise.ipynb)
#   make lock   the locks again from pyproject.toml's pins (LOCKFLAGS=--upgrade: every package to its newest)
VENV ?= .venv
PYTHON ?= python3
# torch's CPU build (the locks' torch==2.13.0+cpu) is on PyTorch's own index, not on PyPI: pip looks there
# when the lock does not install from the indexes it knows (a CUDA build from PyPI would be several GB)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# dvc.yaml runs `python -m stages.<name>`: put the venv first on PATH so that `python` is its interpreter.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install run quick test fast lint explore notebook lock
install: $(VENV)/.installed-run

$(VENV)/bin/python:
	@$(PYTHON) tools/lock.py python requirements/run.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip

# one stamp per lock, so that `make test` after `make run` adds the test tools and a new lock reinstalls;
# then every version the lock pins must be the one installed (pip leaves an installed package it accepts)
$(VENV)/.installed-%: requirements/%.txt pyproject.toml | $(VENV)/bin/python
	@$(VENV)/bin/python tools/lock.py python $<
	$(VENV)/bin/python -m pip install --quiet --require-hashes -r $< 2>/dev/null \
	  || $(VENV)/bin/python -m pip install --quiet --require-hashes -r $< --extra-index-url $(TORCH_INDEX) \
	  || { echo "error: pip could not install $< (above: why); torch's CPU build comes from $(TORCH_INDEX):" \
	       "pip must reach it, or pass TORCH_INDEX=<a mirror of it>" >&2; exit 1; }
	$(VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(VENV)/bin/python -m pip check  # a lock that no longer meets pyproject.toml's pins stops here: make lock
	@$(VENV)/bin/python tools/lock.py installed $<
	touch $@

run: install
	dvc repro

# `dvc exp run -S` rewrites params.yaml (its comments lost): the copy comes back however the run ends,
# Ctrl-C included (sh runs the traps once dvc has stopped)
quick: install
	cp params.yaml .params.yaml.quick; trap 'mv .params.yaml.quick params.yaml' EXIT; trap 'exit 130' INT TERM; \
	dvc exp run -f -n quick -S train.max_time=2

test: $(VENV)/.installed-test
	python -m pytest -q tests

fast: $(VENV)/.installed-test
	python -m pytest -q -m "not slow" tests

lint: $(VENV)/.installed-test
	ruff check .

explore: install
	charlm explore

notebook: $(VENV)/.installed-notebook
	jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/exercise.ipynb  # JupyterLab refuses root without it

# pip-tools, pinned, in a throwaway venv; test.txt is constrained by run.txt and notebook.txt by test.txt,
# so a package they share has one version in all three
COMPILE = .venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCKFLAGS)
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet pip==26.3 pip-tools==7.7.0
	$(COMPILE) -o requirements/run.txt pyproject.toml
	$(COMPILE) --extra test -c requirements/run.txt -o requirements/test.txt pyproject.toml
	$(COMPILE) --extra notebook -c requirements/test.txt -o requirements/notebook.txt pyproject.toml
	rm -rf .venv-lock
