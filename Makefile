# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv with the machine's Python 3.11 and install what they need.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# pytest-xdist workers (one per core; each has its own test database). 0 = one process.
PYTEST_WORKERS ?= auto

.PHONY: run test test-pg smoke lint format migrate check-migrations schema seed clean bench assets

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

## Set up, migrate, load demo data and serve the API and the web app (docs/webapp.md) on
## http://127.0.0.1:8000 (SQLite), running the scheduled jobs in-process every minute
## (manage.py run_dev).
run: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_roles
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py run_dev $(HOST):$(PORT)

migrate: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput

## Lint, check migrations and the OpenAPI schema, then run the whole suite (SQLite by default).
## The browser tests (tests/e2e/, marked e2e) run in a process of their own, alongside the
## rest, and their report is printed after it: they restore the migrated rows by serialized
## rollback, which a flush by another transactional test in the same process would collide
## with, and much of their time is spent waiting on the browser, which the other process
## fills. One process (-n 0) runs them in turn; its test database is `test_<db>`, the
## others' `test_<db>_gw<N>`. Without PYTEST_ARGS it collects only tests/e2e/. Exit
## status 5 = PYTEST_ARGS selected none of them.
## Tests go to whichever worker is free (worksteal): a few long ones (migrations, the
## README walkthrough) would otherwise leave one core idle at the end.
PYTEST = $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal
PYTEST_E2E = $(BIN)/python -m pytest -n 0 -m e2e $(or $(PYTEST_ARGS),tests/e2e)
SUITES = set +e; e2e_log=$$(mktemp); \
	$(PYTEST_E2E) > "$$e2e_log" 2>&1 & e2e_pid=$$!; \
	$(PYTEST) -m "not e2e" $(PYTEST_ARGS); rest=$$?; \
	wait $$e2e_pid; browser=$$?; \
	echo "== browser tests (tests/e2e/, run alongside) =="; cat "$$e2e_log"; rm -f "$$e2e_log"; \
	[ $$rest -eq 0 ] && { [ $$browser -eq 0 ] || [ $$browser -eq 5 ]; }

test: $(VENV)/.dev lint check-migrations schema
	@$(SUITES)

## The same suite against PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test make test-pg
test-pg: $(VENV)/.dev
	@case "$$DATABASE_URL" in postgres*) ;; *) echo "test-pg needs DATABASE_URL=postgres://..." >&2; exit 2;; esac
	@$(SUITES)

## Production profile under gunicorn over real HTTP on PostgreSQL (PGHOST/PGPORT/PGUSER).
smoke: $(VENV)/.dev
	$(BIN)/python .ci/smoke.py

## Ruff, and the layering contracts of pyproject.toml ([tool.importlinter]: which app may
## import which; docs/architecture.md).
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: $(VENV)/.dev
	$(BIN)/python manage.py makemigrations --check --dry-run

schema: $(VENV)/.dev
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

## Rebuild the web app's committed assets (docs/webapp.md) from the pinned npm packages of
## package-lock.json: Tailwind CSS into frontend/static/frontend/app.css, Chart.js and
## axe-core (for the browser tests only) into frontend/static/frontend/vendor/. Node is
## needed only here, never to run the app. Install scripts are skipped (none is needed);
## Chart.js loses its source-map comment, as the map is not shipped and collectstatic
## would look for it.
WEB := frontend/static/frontend
assets:
	npm ci --ignore-scripts --no-audit --no-fund
	npx --no-install tailwindcss --input frontend/assets/app.css --output $(WEB)/app.css --minify
	mkdir -p $(WEB)/vendor
	sed '/^\/\/# sourceMappingURL=/d' node_modules/chart.js/dist/chart.umd.min.js > $(WEB)/vendor/chart.umd.min.js
	cp node_modules/chart.js/LICENSE.md $(WEB)/vendor/chart.js.LICENSE.md
	cp node_modules/axe-core/axe.min.js $(WEB)/vendor/axe.min.js

## Reports benchmark on PostgreSQL (builds a 3.1M-row data set once; see bench/README.md).
bench: $(VENV)/.dev
	$(BIN)/python -m bench.reports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
