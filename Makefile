# Two commands matter: `make run` (the whole offline stack) and `make test` (every test tier).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_PY := $(VENV)/.installed
STAMP_NODE := node_modules/.installed
# checkov pins dependencies (pycep-parser among them) that clash with ours: its own venv.
CHECKOV_VENV := .venv-checkov
STAMP_CHECKOV := $(CHECKOV_VENV)/.installed
PORT ?= 7071
EMULATOR_PORT ?= 8089
TABLE_PORT ?= 10002
CONSOLE_PORT ?= 8090

.PHONY: screenshots run test unit integration e2e fuzz faults docs-test lint bench bootstrap clean

bootstrap: $(STAMP_PY) $(STAMP_NODE) $(STAMP_CHECKOV)

$(STAMP_PY): requirements.txt requirements-dev.txt
	@echo "bootstrap: installing the Python packages into $(VENV) (the first time takes a few minutes)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(STAMP_CHECKOV): requirements-checkov.txt
	@echo "bootstrap: installing checkov into $(CHECKOV_VENV)"
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

$(STAMP_NODE): package.json package-lock.json
	@echo "bootstrap: installing Azurite and the Node tools (npm ci)"
	SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error
	touch $@

# `make run PERSIST=1` keeps table data under .run/; `make run FUNCTION_KEY=...` pins the function
# key (make hands command-line variables to the recipe's environment, so it stays out of `ps`).
run: bootstrap
	$(PY) -m tools.devstack --port $(PORT) --emulator-port $(EMULATOR_PORT) --table-port $(TABLE_PORT) \
		--console-port $(CONSOLE_PORT) $(if $(filter 1 yes true,$(PERSIST)),--persist)

test: bootstrap
	$(PY) -m pytest tests

unit: bootstrap
	$(PY) -m pytest tests/unit

integration: bootstrap
	$(PY) -m pytest tests/integration

e2e: bootstrap
	$(PY) -m pytest tests/e2e

# Property-based requests over every route and the callback sink (FUZZ_EXAMPLES=25 per route).
fuzz: bootstrap
	$(PY) -m pytest tests/fuzz

# Failure classes reproduced through the stack: storage frozen or wiped, ACS slow, replays.
faults: bootstrap
	$(PY) -m pytest tests/faults

# The README's and docs/*.md's shell examples, run against the stack (docs/testing.md).
docs-test: bootstrap
	$(PY) -m pytest tests/docs

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-logo
	# The served OpenAPI document, linted offline by Redocly CLI (redocly.yaml; telemetry off).
	tmp=$$(mktemp -d) && $(PY) -m commands.openapi_document $$tmp/openapi.json \
		&& REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly lint \
		--config redocly.yaml --format=stylish $$tmp/openapi.json; status=$$?; rm -rf $$tmp; exit $$status

# Rewrites docs/img/*.png from the browser test (the console's views and the API page).
screenshots: bootstrap
	CONSOLE_SCREENSHOTS_DIR=docs/img $(PY) -m pytest tests/e2e/test_console.py tests/e2e/test_console_flows.py \
		tests/e2e/test_console_keypad.py

bench: bootstrap
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .azurite .run
