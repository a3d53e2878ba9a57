# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py

.PHONY: run test lint fmt migrate messages venv dev-venv check-services smoke bench load drill backup restore schemathesis clean

$(VENV)/.installed-runtime: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml tests/browser/package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# axe-core for the browser tests' accessibility scan (tests/browser/axe.py)
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $@ $(VENV)/.installed-runtime

venv: $(VENV)/.installed-runtime
dev-venv: $(VENV)/.installed-dev

## make run: the whole service with demo data on 127.0.0.1:8000 (SQLite + filesystem broker by default)
run: venv
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} bash scripts/run.sh

## make test: ruff, migrations check and the whole pytest suite against PostgreSQL and Redis
test: dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	DJANGO_DEBUG=true $(MANAGE) makemigrations --check --dry-run
	DJANGO_DEBUG=true $(MANAGE) compilemessages --ignore=.venv -v0
	$(PY) scripts/check_services.py
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: dev-venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrate: venv
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(MANAGE) migrate

messages: dev-venv
	DJANGO_DEBUG=true $(MANAGE) makemessages -l ja -l en --ignore=.venv --ignore=var --ignore=bench --ignore=tests --ignore=test-artifacts
	DJANGO_DEBUG=true $(MANAGE) compilemessages --ignore=.venv

check-services: dev-venv
	$(PY) scripts/check_services.py

clean:
	rm -rf var

## make schemathesis: fuzz every API operation against its live schema and follow its links, many more examples than CI
schemathesis: dev-venv
	SCHEMATHESIS_EXAMPLES=$${SCHEMATHESIS_EXAMPLES:-300} SCHEMATHESIS_STATEFUL_EXAMPLES=$${SCHEMATHESIS_STATEFUL_EXAMPLES:-200} $(VENV)/bin/pytest tests/api/test_schemathesis.py -q $(PYTEST_ARGS)

## make backup: pg_dump (custom format) + manifest (time, commit, chain heads, row counts) into var/backups/
backup: venv
	$(PY) scripts/backup.py

## make restore FILE=var/backups/<name>.dump: into an EMPTY database, then verify_ledger and compare with the manifest
restore: venv
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/<name>.dump" >&2; exit 2; }
	$(PY) scripts/restore.py "$(FILE)"

## make drill: fault drills at full size (10,000 notices per fault; TERMS_FAULT_ITEMS to change), prints the fault table
drill: dev-venv
	$(PY) scripts/drill.py --items $${TERMS_FAULT_ITEMS:-10000}

## make bench: each benchmark against its baseline on a throwaway database (100,000 tenants, 1,000,000 ledger rows; about 10 minutes; needs wrk), table into bench/RESULTS.md. Sizes: BENCH_ARGS="--tenants 1000 ..."; BENCH_ARGS="--scale 10" for the cost as work grows
bench: dev-venv
	@command -v wrk >/dev/null || { echo "make bench needs wrk (Debian: sudo apt-get install wrk); BENCH_ARGS=--load-tool=python runs without it, with ratios that compress" >&2; case "$(BENCH_ARGS)" in *load-tool*) ;; *) exit 2;; esac; }
	$(PY) -m bench.run $(BENCH_ARGS)

## make load: gunicorn + worker + beat on loopback, locust headless 60 s, then verify_ledger and reconcile; figures into bench/RESULTS.md
load: dev-venv
	$(PY) -m bench.load $(LOAD_ARGS)
