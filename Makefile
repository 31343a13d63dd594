# `make run` sets up and serves the app with the demo agency; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 5000
HOST ?= 127.0.0.1
FLASK = $(VENV)/bin/flask --app wsgi
# Links in email point where this server answers: http://HOST:PORT, unless BASE_URL is set in the
# environment, on the command line or in .env (production sets it to the public https address).
ifeq ($(origin BASE_URL),undefined)
BASE_URL := $(if $(shell grep -s '^[[:space:]]*BASE_URL=' .env),,http://$(HOST):$(PORT))
endif
WITH_BASE_URL = $(if $(BASE_URL),BASE_URL='$(BASE_URL)' )

.PHONY: run test lint bench check-python clean

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")")'

$(VENV)/.installed: pyproject.toml | check-python
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo load
	@echo "Layanan berjalan di http://$(HOST):$(PORT) dengan penjadwal di sampingnya (Ctrl+C untuk berhenti)"
	@$(WITH_BASE_URL)$(FLASK) scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(WITH_BASE_URL)$(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest

# The scale benchmark on both databases (docs/performance.md). BENCH_SIZES and BENCH_PG may be
# overridden; the PostgreSQL database named in BENCH_PG is created if missing, else wiped.
BENCH_SIZES ?= 1000 100000
BENCH_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/bench
bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench.scale --sizes $(BENCH_SIZES) --json bench-sqlite.json
	$(VENV)/bin/python -m bench.scale --sizes $(BENCH_SIZES) --database-url $(BENCH_PG) --json bench-postgresql.json

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check app tests

clean:
	rm -rf $(VENV) .pytest_cache
