# The two Quick start commands: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint install bench

serve: $(STAMP)
	$(BIN)/chorus serve

test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests

# The benchmark (README, "Benchmark"), with its load tool: Debian's wrk, installed when
# missing (root, or sudo). BENCH_ARGS passes options, e.g. BENCH_ARGS="--messages 2000".
bench: $(STAMP)
	command -v wrk >/dev/null || { $$(command -v sudo) apt-get update -qq && $$(command -v sudo) apt-get install -y -qq wrk; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)
