# The two commands a newcomer needs:  make run   and   make test
# Dependencies: pyproject.toml holds the ranges; `make lock` pins them (with hashes) into
# requirements.lock (runtime) and requirements-dev.lock (runtime + test and dev tools).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP_INSTALL := $(VENV)/bin/pip install --quiet --require-hashes
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
PIP_COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --resolver=backtracking
export CUSTOM_COMPILE_COMMAND := make lock

.PHONY: run test install install-runtime lock lint migrate seed seed-production bench clean

run: $(RUNTIME_STAMP)  ## set up (runtime dependencies only), migrate, seed demo data into an empty database, serve on :8880
	SEED_DEMO_DATA=$${SEED_DEMO_DATA:-true} $(PY) main.py

test: $(DEV_STAMP)  ## the whole suite (SQLite; set TEST_DATABASE_URL for PostgreSQL)
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(DEV_STAMP)  ## development install: requirements-dev.lock

install-runtime: $(RUNTIME_STAMP)  ## what make run needs: requirements.lock

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per lock file.  The dev lock holds the runtime lock's exact pins (make lock passes
# it as a constraint), so a dev install also satisfies make run.
$(RUNTIME_STAMP): requirements.lock | $(VENV)/bin/python
	$(PIP_INSTALL) -r requirements.lock
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): requirements-dev.lock requirements.lock | $(VENV)/bin/python
	$(PIP_INSTALL) -r requirements-dev.lock
	touch $(DEV_STAMP) $(RUNTIME_STAMP)

lock: $(DEV_STAMP)  ## re-pin both lock files from pyproject.toml (UPGRADE=1: newest versions in range)
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) --output-file requirements.lock pyproject.toml
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) --extra dev --constraint requirements.lock \
		--output-file requirements-dev.lock pyproject.toml

lint: $(DEV_STAMP)  ## ruff, then mypy over the packages named in pyproject.toml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

migrate: $(RUNTIME_STAMP)
	$(PY) orm/db_init.py

seed: $(RUNTIME_STAMP)
	$(PY) seed_test_data.py

seed-production: $(RUNTIME_STAMP)
	$(PY) seed_production_data.py

bench: $(DEV_STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
