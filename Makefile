# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.wardflow-installed

.PHONY: demo test check install lint bench bench-deps clean ui docs

$(STAMP): pyproject.toml requirements.lock
	@echo "==> creating $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> installing $$(grep -c '==' requirements.lock) pinned packages from requirements.lock (wheels only, about a minute)"
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check --only-binary=:all: -r requirements.lock
	@echo "==> installing wardflow itself (editable: edits to the source take effect at once)"
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)
	@echo "==> ready: $(BIN)/wardflow (no need to activate the venv)"

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/wardflow demo

# The habits CI holds: ruff (bandit rules, S608 only per line with its reason) and mypy with no error.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(STAMP) check
	@bash scripts/ensure-postgres
	@bash scripts/ensure-chromium
	$(BIN)/pytest -q -p no:cacheprovider

ui: $(STAMP)
	$(BIN)/wardflow ui

docs: $(STAMP)
	$(BIN)/wardflow docs

lint: check

bench: $(STAMP)
	$(BIN)/python benchmarks/hl7_ingest.py

# Presidio, only as the baseline of benchmarks/deid.py and `wardflow deid eval` (not needed to run wardflow).
bench-deps: $(STAMP)
	$(BIN)/pip install -q --disable-pip-version-check --only-binary=:all: --no-deps -r requirements-bench.lock

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs
