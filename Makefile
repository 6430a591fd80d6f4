# The front door: `make demo`, `make test`, `make lint`, `make bench`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: install demo test test-postgresql lint format bench bench-chain clean

$(INSTALLED): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

## Run the whole system on SQLite with demo data; prints the URL, logins and API keys.
demo: $(INSTALLED)
	$(PY) manage.py demo

## The test suite (SQLite by default; set DATABASE_URL for PostgreSQL).
test: $(INSTALLED)
	$(PY) -m pytest $(PYTEST_ARGS)

test-postgresql: $(INSTALLED)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/linkage} $(PY) -m pytest

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: $(INSTALLED)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(INSTALLED)
	$(PY) bench/ingest_api.py

## The code acquisition chain end to end (PostgreSQL + Redis); PERSONS=10000 for the full run.
bench-chain: $(INSTALLED)
	$(PY) bench/code_chain.py --persons $${PERSONS:-1000}

clean:
	rm -rf var/*.sqlite3* var/celery-broker
