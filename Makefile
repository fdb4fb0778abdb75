# Two commands on a fresh machine:  `make run` (install + chat on http://127.0.0.1:7860)
# and `make test` (install + the whole test suite). Everything lives in ./.venv.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test build bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU wheel; letting pip pick torch pulls a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	# PYTHONWARNINGS: setuptools prints a banner about editable installs that is not ours to fix
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(PY) app.py

build: install
	$(VENV)/bin/qa build

test: install
	$(PY) -m pytest

bench: install
	$(PY) -m benchmarks  # all benchmarks (docs/performance.md); results in benchmarks/results/
	$(PY) -m pytest -m bench -s || test $$? -eq 5  # load tests marked bench (exit 5: none collected)

clean:
	rm -rf $(VENV) index/build-* index/.tmp-* index/CURRENT
