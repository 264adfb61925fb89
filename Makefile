# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
# Both are idempotent: the stamp files make a second run skip what is installed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_VERSION := 2.13.0

.PHONY: demo test lint typecheck check clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
$(VENV)/.torch-stamp: | $(PY)
	$(PIP) install --quiet torch==$(TORCH_VERSION)
	touch $@

$(VENV)/.install-stamp: pyproject.toml $(VENV)/.torch-stamp
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.test-stamp: pyproject.toml $(VENV)/.install-stamp
	$(PIP) install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.install-stamp
	$(VENV)/bin/crossover demo

test: $(VENV)/.test-stamp
	$(PY) -m pytest

lint: $(VENV)/.test-stamp
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(VENV)/.test-stamp
	$(VENV)/bin/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) crossover-out crossover-demo
