# Two commands: `make run` and `make test`. Both work from a fresh clone that has only
# Python >= 3.11 and make; everything else comes from PyPI (and Debian, for Alertmanager).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest alertmanager prometheus browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tocsin dev --config $${TOCSIN_CONFIG:-tocsin.example.yaml}

# The e2e tests drive a real Prometheus Alertmanager; install it from Debian when we can.
alertmanager:
	@if ! command -v prometheus-alertmanager >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
	    && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get install -y -qq prometheus-alertmanager >/dev/null 2>&1 \
	   || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq prometheus-alertmanager >/dev/null 2>&1)) \
	  || echo "warning: could not install prometheus-alertmanager"; \
	fi

# The monitoring tests check the shipped rules with promtool, and the e2e tests scrape
# Tocsin with a real Prometheus; install it from Debian when we can.
prometheus:
	@if ! { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } \
	    && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get install -y -qq prometheus >/dev/null 2>&1 \
	   || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq prometheus >/dev/null 2>&1)) \
	  || echo "warning: could not install prometheus"; \
	fi

# The console's browser tests drive Debian's headless Chromium through its chromedriver
# (never a downloaded browser); install both from Debian when we can.
browser:
	@if ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } \
	    && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
	   || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1)) \
	  || echo "warning: could not install chromium and chromium-driver"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) alertmanager prometheus browser
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/page_latency.py

clean:
	rm -rf $(VENV) .tocsin .mypy_cache .pytest_cache .ruff_cache
