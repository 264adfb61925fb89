# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
# Both install from the committed lock files (every package at an exact version, with its
# SHA-256) and are idempotent: the stamp files make a second run skip what is installed.
# `make lock` regenerates the lock files from pyproject.toml's ranges (see the README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The installer and the locker, pinned like everything else.
PIP_VERSION := 26.3
UV_VERSION := 0.13.9
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
# Where `make lock` finds the CPU build of torch (torch==X+cpu): this machine keeps the wheel
# in /opt/wheels; elsewhere use TORCH_SOURCE='--extra-index-url https://download.pytorch.org/whl/cpu'.
TORCH_SOURCE ?= --find-links /opt/wheels
# `make lock UPGRADE=--upgrade` (everything) or UPGRADE='--upgrade-package NAME' (one package);
# without it, `make lock` keeps every version the lock already has that the ranges still admit.
UPGRADE ?=

.PHONY: demo test test-packages lint typecheck check lock test-lowest clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet pip==$(PIP_VERSION)

# The lock pins torch's CPU build (+cpu), so nothing here can pull the multi-GB CUDA build.
# crossover itself goes in without dependencies and without build isolation: its build backend
# (setuptools) is in the lock too, so nothing unlocked is installed.
$(VENV)/.install-stamp: $(LOCK) pyproject.toml | $(PY)
	$(PIP) install --quiet --require-hashes -r $(LOCK)
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.test-stamp: $(TEST_LOCK) $(VENV)/.install-stamp
	$(PIP) install --quiet --require-hashes -r $(TEST_LOCK)
	touch $@

demo: $(VENV)/.install-stamp
	$(VENV)/bin/crossover demo

test: $(VENV)/.test-stamp test-packages
	$(PY) -m pytest

# Debian packages some tests need (never anything downloaded at run time): chromium for the
# report's browser test, dataset-fashion-mnist for the slow Fashion-MNIST study. Installed here
# when missing and possible (root or password-less sudo); else those tests skip, saying why.
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
test-packages:
	@missing=; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || missing="$$missing chromium"; \
	[ -f $(FASHION_MNIST) ] || missing="$$missing dataset-fashion-mnist"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO=sudo; \
	else echo "missing and cannot be installed:$$missing; the tests that need them will skip"; exit 0; fi; \
	echo "installing Debian packages for tests:$$missing"; \
	($$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	  --no-install-recommends $$missing >/dev/null) \
	|| echo "could not install$$missing: the tests that need them will skip"

lint: $(VENV)/.test-stamp
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: $(VENV)/.test-stamp
	$(VENV)/bin/mypy

check: lint typecheck test

# uv resolves for the target (CPython 3.11 on x86-64 Linux, the CI machine) from any machine,
# in seconds, with the hash of every file; the test lock is constrained by the runtime lock, so
# the two never disagree on a version. lock.in adds torch's CPU build and the build backend.
LOCK_PYTHON ?= 3.11
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version $(LOCK_PYTHON) \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
	$(TORCH_SOURCE) $(UPGRADE)
lock: pyproject.toml lock.in | $(PY)
	$(PIP) install --quiet uv==$(UV_VERSION)
	$(UV_COMPILE) pyproject.toml lock.in -o $(LOCK)
	$(UV_COMPILE) pyproject.toml lock.in --extra test -c $(LOCK) -o $(TEST_LOCK)

# The floors of pyproject.toml's ranges, checked: every direct dependency at the lowest version
# its range admits (uv's lowest-direct resolution; what they pull in at its newest), the test
# tools at their locked versions, in .venv-lowest, and the whole suite run there. Old releases
# beside new ones warn about deprecations, so warnings are shown here rather than made errors.
LOWEST := .venv-lowest
test-lowest: $(TEST_LOCK) | $(PY)
	$(PIP) install --quiet uv==$(UV_VERSION)
	$(VENV)/bin/uv venv --quiet --allow-existing --python $(PYTHON) $(LOWEST)
	$(PY) -c "import re, tomllib; tools = tomllib.load(open('pyproject.toml', 'rb'))['project']\
	['optional-dependencies']['test']; names = {re.match(r'[\w.-]+', t)[0].lower() for t in tools}; \
	print(''.join(l.split()[0] + '\n' for l in open('$(TEST_LOCK)') \
	if l.split('==')[0].lower() in names))" > $(LOWEST)/test-tools.txt
	$(VENV)/bin/uv pip compile --quiet --resolution lowest-direct --python-version $(LOCK_PYTHON) \
	  --python-platform x86_64-manylinux_2_28 $(TORCH_SOURCE) pyproject.toml lock.in --extra test \
	  -c $(LOWEST)/test-tools.txt -o $(LOWEST)/lowest.txt
	$(VENV)/bin/uv pip sync --quiet --python $(LOWEST)/bin/python $(TORCH_SOURCE) $(LOWEST)/lowest.txt
	$(VENV)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --no-deps -e .
	$(LOWEST)/bin/python -m pytest -p no:cacheprovider -W default::DeprecationWarning \
	  -W default::PendingDeprecationWarning -W default::FutureWarning -W default::UserWarning

clean:
	rm -rf $(VENV) $(LOWEST) crossover-out crossover-demo
