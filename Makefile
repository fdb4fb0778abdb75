# Two commands on a fresh machine:  `make run` (install + chat on http://127.0.0.1:7860)
# and `make test` (install with the test tools + the whole test suite). Everything lives in ./.venv.
#
# Install notes (kept here: a comment inside a recipe is echoed by make):
# - torch first, pinned: the CPU wheel; letting pip pick torch pulls a multi-GB CUDA build.
# - PYTHONWARNINGS: setuptools prints a banner about editable installs that is not ours to fix.
# - `make run` installs what running needs; the test tools (pytest, Playwright...) only come with
#   `make test` and `make bench`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install install-test run test build bench clean

install: $(STAMP)

install-test: $(TEST_STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "Creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "Installing the chatbot into $(VENV) (the first time takes a few minutes)"
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet torch==2.13.0
	@PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -e .
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	@echo "Installing the test tools into $(VENV)"
	@PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -e '.[test]'
	@touch $(TEST_STAMP)

run: install
	@$(PY) app.py

build: install
	@$(VENV)/bin/qa build

test: install-test
	$(PY) -m pytest

# bench: all benchmarks (docs/performance.md; results in benchmarks/results/), then the load
# tests marked bench (pytest's exit status 5 means none were collected)
bench: install-test
	$(PY) -m benchmarks
	$(PY) -m pytest -m bench -s || test $$? -eq 5

clean:
	rm -rf $(VENV) index/build-* index/.tmp-* index/CURRENT
