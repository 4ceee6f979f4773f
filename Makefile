# secportal-pipeline: `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG := bash scripts/pg_test_server.sh
export DAGSTER_HOME ?= $(CURDIR)/dagster_home
DEMO_KEY = $${SECPORTAL_DATA_DIR:-$(CURDIR)/data}/secrets/hmac.key

.PHONY: install demo test dev bench clean-data pg-start pg-stop

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 needed, {sys.version.split()[0]} found"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/secportal-pipeline demo

# The PostgreSQL tests run against a real local server that this target installs
# (if missing) and starts on 127.0.0.1; it stops it afterwards, whatever pytest's
# outcome, unless the server was already running before (someone else's).
test: install
	@started=0; $(PG) status >/dev/null 2>&1 || { $(PG) start && started=1; }; \
	SECPORTAL_TEST_PG_URL="$$($(PG) url)" $(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$started = 1 ]; then $(PG) stop; fi; exit $$status

# The UI's runs and schedules need the classification key: without one set, the
# demo's generated key (if the demo has run) is used.
dev: install
	@if [ -z "$$SECPORTAL_HMAC_KEY$$SECPORTAL_HMAC_KEY_FILE" ] && [ -f "$(DEMO_KEY)" ]; then \
	  export SECPORTAL_HMAC_KEY_FILE="$(DEMO_KEY)"; echo "using the demo's classification key $(DEMO_KEY)"; fi; \
	$(BIN)/dagster dev -w workspace.yaml

bench: install
	$(BIN)/python bench/intake_bench.py

pg-start:
	$(PG) start
pg-stop:
	$(PG) stop

# removes what the demo made: the data folder (SECPORTAL_DATA_DIR if set) and the
# Dagster run storage under DAGSTER_HOME, keeping its dagster.yaml
clean-data:
	rm -rf "$${SECPORTAL_DATA_DIR:-$(CURDIR)/data}"
	find "$(DAGSTER_HOME)" -mindepth 1 -maxdepth 1 ! -name 'dagster*.yaml' -exec rm -rf {} +
