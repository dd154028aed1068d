# geobp — the two commands: `make serve` and `make test`. Each sets up .venv when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
HOST   ?= 127.0.0.1

.PHONY: setup serve test bench lint format clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

serve: setup
	$(VENV)/bin/geobp serve --host $(HOST) --port $(PORT)

test: setup
	bash scripts/ensure-test-tools.sh
	$(PY) -m pytest

$(VENV)/.bench-installed: $(VENV)/.installed
	command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || echo "wrk missing: bench/api.py uses its Python clients"
	$(PY) -m pip install -q 'torch==2.13.0' || $(PY) -m pip install -q torch
	$(PY) -m pip install -q -e '.[dev,bench]' || $(PY) -m pip install -q -e '.[dev]' simpeg scikit-learn
	touch $@

bench: $(VENV)/.bench-installed
	$(PY) bench/forward.py
	$(PY) bench/train.py
	$(PY) bench/gpu_check.py
	$(PY) bench/api.py
	$(PY) bench/quality.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache
