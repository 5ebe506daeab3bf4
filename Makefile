# The two commands a newcomer needs:  make run   and   make test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lint migrate seed seed-production bench clean

run: $(STAMP)  ## set up, migrate, seed demo data into an empty database, serve on :8880
	SEED_DEMO_DATA=$${SEED_DEMO_DATA:-true} $(PY) main.py

test: $(STAMP)  ## the whole suite (SQLite; set TEST_DATABASE_URL for PostgreSQL)
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

migrate: $(STAMP)
	$(PY) orm/db_init.py

seed: $(STAMP)
	$(PY) seed_test_data.py

seed-production: $(STAMP)
	$(PY) seed_production_data.py

bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
