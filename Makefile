# The front door: `make demo`, `make test`, `make lint`, `make bench`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# The browser tests drive Debian's Chromium through Playwright.
CHROMIUM ?= /usr/bin/chromium

AXE := node_modules/axe-core/axe.min.js

.PHONY: install chromium deploy-tools screenshots demo test test-postgresql lint format bench bench-chain bench-batch bench-search clean

$(INSTALLED): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

## Debian's Chromium and a Japanese font for the browser tests (apt-get when missing).
chromium:
	@dpkg -s chromium fonts-ipafont-gothic >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium and fonts-ipafont-gothic for the browser tests"; \
	  apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-ipafont-gothic; }

## nginx and the PostgreSQL client tools: deploy/'s files are checked with `nginx -t`, and
## the restore drill runs pg_dump and pg_restore (apt-get when missing).
deploy-tools:
	@{ command -v nginx && command -v pg_restore; } >/dev/null 2>&1 || { \
	  echo "Installing Debian's nginx-light and postgresql-client for the deploy/ tests"; \
	  apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light postgresql-client; }

## axe-core, the accessibility rules the browser tests check every screen against (npm).
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Run the whole system on SQLite with demo data; prints the URL, logins and OAuth clients.
demo: $(INSTALLED)
	$(PY) manage.py demo

## The test suite (SQLite by default; set DATABASE_URL for PostgreSQL).
test: $(INSTALLED) chromium deploy-tools $(AXE)
	$(PY) -m pytest $(PYTEST_ARGS)

test-postgresql: $(INSTALLED) chromium deploy-tools $(AXE)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/linkage} $(PY) -m pytest

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: $(INSTALLED)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## The browser tests again, saving their screenshots under docs/screenshots/.
screenshots: $(INSTALLED) chromium $(AXE)
	LINKAGE_SCREENSHOTS=1 $(PY) -m pytest tests/browser

bench: $(INSTALLED)
	$(PY) bench/ingest_api.py

## The code acquisition chain end to end (PostgreSQL + Redis); PERSONS=10000 for the full run.
bench-chain: $(INSTALLED)
	$(PY) bench/code_chain.py --persons $${PERSONS:-1000}

## Bulk import against COPY (PostgreSQL); CHANGES=1000000 UPDATES=100000 for the full run.
bench-batch: $(INSTALLED)
	$(PY) bench/ingest_batch.py --changes $${CHANGES:-1000000} --updates $${UPDATES:-100000}

## Search and the changed-resident list on PERSONS persons (default 1,000,000) in PostgreSQL.
bench-search: $(INSTALLED)
	$(PY) bench/search.py --persons $${PERSONS:-1000000}

clean:
	rm -rf var/*.sqlite3* var/celery-broker var/test-broker var/celerybeat-schedule* var/staticfiles
