# The two commands: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: messages run test lint types check-migrations pytest browser-tools mutation screenshots clean help

help:
	@echo "make run   – install, migrate, load the Paris demo data and serve on http://127.0.0.1:8000"
	@echo "make test  – lint, types, migrations check and the whole test suite"
	@echo "make mutation – mutation testing of the pure cores (not part of make test)"
	@echo "make screenshots – pictures of every page at phone and desktop sizes in var/screenshots/"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "guichet needs Python 3.11 or newer: set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/guichet serve --demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app migrations tests bench
	$(BIN)/ruff format --check app migrations tests bench

types: $(VENV)/.installed-dev
	$(BIN)/mypy app

# Gather the sentences of the code and templates into the catalogs' template, and bring
# each language's catalog (app/i18n/locales/) up to date with it.
messages: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output \
	  --project guichet -o app/i18n/messages.pot .
	$(BIN)/pybabel update -i app/i18n/messages.pot -d app/i18n/locales \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python -m app.i18n

# The suite runs in PYTEST_WORKERS processes (pytest-xdist), each taking a whole test file
# at a time; the tests marked `alone` (they stop the shared PostgreSQL server) run after
# the others, by themselves. PYTEST_WORKERS=0 runs everything in this one process.
PYTEST_WORKERS ?= 4

pytest: $(VENV)/.installed-dev browser-tools
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not alone" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m alone $(PYTEST_ARGS) || test $$? -eq 5

# The browser tests (tests/e2e) need Debian's Chromium, installed here under CI=true
# only, and axe-core from npm. Without them, outside CI, those tests skip.
NPM := $(shell command -v npm 2>/dev/null)

browser-tools: $(if $(NPM),node_modules/.installed)
	@bash .ci/install-chromium

node_modules/.installed: package.json $(wildcard package-lock.json)
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi \
	  || case "$$CI" in 1|true|TRUE|True|yes) exit 1;; *) echo "axe-core not installed: the accessibility checks will skip";; esac
	@if [ -f node_modules/axe-core/axe.min.js ]; then touch $@; fi

test: lint types pytest

# Pictures of every page, from a scripted day at the 15e, in var/screenshots/ (index.html
# shows them all): a demo server of its own and Debian's Chromium, as the browser tests.
screenshots: $(VENV)/.installed-dev browser-tools
	$(BIN)/python -m tests.screenshots $(SCREENSHOTS_ARGS)

# Mutation testing of the pure cores against the unit tests: the score and the survivors.
# Not part of `make test` (several minutes); see bench/README.md for the latest result.
$(VENV)/.installed-mutation: pyproject.toml | $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,mutation]'
	@touch $@

mutation: $(VENV)/.installed-mutation
	$(BIN)/python -m bench.mutation

clean:
	rm -rf $(VENV) var node_modules mutants .pytest_cache .mypy_cache .ruff_cache
