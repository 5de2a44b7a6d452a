# Two commands on a fresh machine with only python3: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# pytest-xdist workers (auto: one per core) and how tests are shared: the browser tests keep
# together on one worker (tests/conftest.py groups them), every other test goes where there is room.
TEST_JOBS ?= auto
XDIST := -n $(TEST_JOBS) --dist loadgroup
# Branch coverage of eva_engine/ and web/ with the floor of setup.cfg [coverage:report] (docs/testing.md).
COVERAGE_ARGS := --cov --cov-report=term:skip-covered

.PHONY: setup translations run demo test check lint format types contracts pytest unit coverage chromium pango oidc-provider screenshots bench wheel wheel-smoke clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,browser]'
	touch $(STAMP)

setup: $(STAMP) translations

## translations: compile the message catalogs (eva_engine/translations/*/LC_MESSAGES/*.po)
translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d eva_engine/translations > /dev/null

## run: migrate the embedded SQLite database, load demo data and show the demo
run: setup
	$(BIN)/eva db upgrade
	$(BIN)/eva demo-data --if-empty
	$(BIN)/eva demo
	@echo ""
	@echo "Open http://127.0.0.1:5000 and log in as any demo user above (password esimerkki-2026)."
	$(BIN)/eva serve

## test: lint, types, import contracts and the whole suite (database tests on SQLite, those
## marked `postgres` on PostgreSQL too; EVA_TEST_BACKENDS=all runs every one on both)
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

pytest: setup chromium pango oidc-provider
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

## unit: the database-free unit layer (tests/unit/: workflow engine, guards, checklists,
## completeness), in seconds; tests/conftest.py is not even loaded
unit: $(STAMP)
	$(BIN)/pytest --confcutdir=tests/unit tests/unit $(PYTEST_ARGS)

## coverage: the whole suite on both backends with branch coverage and its floor (as .ci/run)
coverage: setup chromium pango oidc-provider
	EVA_TEST_BACKENDS=all $(BIN)/pytest $(XDIST) $(COVERAGE_ARGS) $(PYTEST_ARGS)

## chromium: Debian's browser for tests/browser (Playwright never downloads one)
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium > /dev/null)

## oidc-provider: the certified OpenID Connect provider (npm `oidc-provider`, pinned by
## tests/oidc/package-lock.json) that tests/test_oidc.py starts on loopback; skipped without Node.js
oidc-provider:
	@if command -v npm > /dev/null; then \
	  test tests/oidc/node_modules/.package-lock.json -nt tests/oidc/package-lock.json || \
	  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error > /dev/null); \
	else echo "Node.js is not installed: tests/test_oidc.py will skip"; fi

## pango: Debian's Pango and fonts, which WeasyPrint needs for the report's PDF
pango:
	@(ldconfig -p | grep -q libpangoft2-1.0 && test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf) || (apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core > /dev/null)

## screenshots: refresh docs/screenshots/*.png
screenshots: setup chromium
	$(BIN)/pytest tests/browser -m screenshots

bench: setup
	$(BIN)/python -m bench.transitions

## wheel: dist/eva-*.whl, with the workflows, migrations, templates and compiled catalogs inside
wheel: translations
	rm -rf build dist/eva-*.whl
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --no-index --wheel-dir dist .
	rm -rf build

## wheel-smoke: install that wheel into a fresh virtualenv outside the checkout and run eva there
## (`make pytest` runs the same test on a wheel it builds itself)
wheel-smoke: wheel
	EVA_TEST_WHEEL="$(wildcard dist/eva-*.whl)" $(BIN)/pytest tests/test_wheel.py -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance build dist .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
