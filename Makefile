# `make run` sets up and serves the app with the demo agency; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 5000
HOST ?= 127.0.0.1
FLASK = $(VENV)/bin/flask --app wsgi

.PHONY: run test lint check-python clean

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
	@$(FLASK) scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check app tests

clean:
	rm -rf $(VENV) .pytest_cache
