# Two commands on a fresh machine with only python3: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup translations run demo test check lint format types contracts pytest chromium screenshots bench clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,browser]'
	touch $(STAMP)

setup: $(STAMP) translations

## translations: compile the message catalogs (web/translations/*/LC_MESSAGES/*.po)
translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d web/translations > /dev/null

## run: migrate the embedded SQLite database, load demo data and show the demo
run: setup
	$(BIN)/eva db upgrade
	$(BIN)/eva demo-data --if-empty
	$(BIN)/eva demo
	@echo ""
	@echo "Open http://127.0.0.1:5000 and log in as any demo user above (password esimerkki-2026)."
	$(BIN)/eva serve

## test: lint, types, import contracts and the whole suite
test: check pytest

check: lint types contracts

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

types: setup
	$(BIN)/mypy

contracts: setup
	$(BIN)/lint-imports

pytest: setup chromium
	$(BIN)/pytest $(PYTEST_ARGS)

## chromium: Debian's browser for tests/browser (Playwright never downloads one)
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium > /dev/null)

## screenshots: refresh docs/screenshots/*.png
screenshots: setup chromium
	$(BIN)/pytest tests/browser -m screenshots

bench: setup
	$(BIN)/python -m bench.transitions

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
