# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
# Both are idempotent: the stamp files make a second run skip what is installed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_VERSION := 2.13.0

.PHONY: demo test browser lint typecheck check clean

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

test: $(VENV)/.test-stamp browser
	$(PY) -m pytest

# The report's browser test needs Debian's chromium (never a browser downloaded at run time).
# Installed here when missing and possible (root or password-less sudo); else the test skips.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "chromium is missing and cannot be installed: the browser test will skip"; exit 0; fi; \
	  echo "installing chromium (Debian package) for the report's browser test"; \
	  ($$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends chromium >/dev/null) \
	  || echo "could not install chromium: the browser test will skip"; }

lint: $(VENV)/.test-stamp
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(VENV)/.test-stamp
	$(VENV)/bin/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) crossover-out crossover-demo
