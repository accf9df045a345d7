# Two entry points: `make run` (the main job) and `make test` (the test suite).
# Each creates .venv at the repo root when missing and installs the project into it.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench full-test play

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The main job: square8 2p selfplay + Ray Train with a short budget (override TIME_BUDGET).
TIME_BUDGET ?= 300
run: $(STAMP)
	$(PY) -m experiments.alphazero --config experiments/configs/square8_2p.yaml \
		--run-dir runs/square8_2p --time-budget $(TIME_BUDGET)

# Tests that start Ray or jobs (marker `ray`, tests/conftest.py) run one at a time; the rest
# on two pytest-xdist workers.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q -n 2 -m "not ray"
	$(PY) -m pytest -q -m ray

full-test: $(STAMP)
	$(PY) -m pytest -q --full

bench: $(STAMP)
	$(PY) benchmarks/bench_rules.py

play: $(STAMP)
	$(VENV)/bin/ringrift-ray play --board square8 --players 2 --seed 1
