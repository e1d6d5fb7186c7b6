# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench install clean redis

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make demo: install, then run a producer and a consumer paper-trading on the simulated market (API up)
demo: $(STAMP)
	$(BIN)/tradecast demo

## make test: install, start Redis if none is running, create .venv-freqtrade once (interop tests; skipped
## when PyPI is unreachable), lint, then run the whole suite
test: $(STAMP)
	@bash scripts/ensure-redis.sh
	@bash scripts/freqtrade-venv.sh
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench || true

## make bench: run every benchmark and print its table (numbers are recorded in bench/RESULTS.md)
bench: $(STAMP)
	@bash scripts/ensure-redis.sh
	$(BIN)/python bench/analyze.py
	$(BIN)/python bench/fleet_broadcast.py
	$(BIN)/python bench/fleet_freshness.py
	$(BIN)/python bench/signals_latency.py
	$(BIN)/python bench/api_load.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
