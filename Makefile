# Tornagram — `make run` serves the site, `make test` runs every test. `make help` lists the rest.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help run test hostile lint format migrate bench-imaging bench-fanout bench-feeds bench-pages screenshots clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tornagram needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamps make re-runs instant; they are remade whenever pyproject.toml changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

run: $(VENV)/.installed ## install, migrate and serve at http://127.0.0.1:8888 (ARGS="--port 9000" to change)
	$(BIN)/python -m tornagram migrate
	$(BIN)/python -m tornagram serve $(ARGS)

migrate: $(VENV)/.installed ## bring the database schema up to date
	$(BIN)/python -m tornagram migrate

test: $(VENV)/.installed-dev ## ruff, then every test (PostgreSQL, Redis and browser tests included where available)
	$(BIN)/ruff check .
	$(BIN)/pytest $(ARGS)

hostile: $(VENV)/.installed-dev ## the hostile-input suite alone (malformed images and multipart, traversal; part of `make test`)
	$(BIN)/pytest tests/hostile tests/web/test_params.py $(ARGS)

lint: $(VENV)/.installed-dev ## ruff
	$(BIN)/ruff check .

format: $(VENV)/.installed-dev ## ruff's formatter on the Python code (never on templates)
	$(BIN)/ruff format tornagram tests bench

bench-imaging: $(VENV)/.installed-dev ## our image pipeline against a naive Pillow one
	$(BIN)/python bench/imaging.py

bench-feeds: $(VENV)/.installed-dev ## feed queries on SQLite, PostgreSQL and MariaDB, and the rendered home page under wrk
	$(BIN)/python bench/feeds.py

bench-pages: $(VENV)/.installed-dev ## every page kind under wrk, caches off and on, both engines, and a minimal baseline (ARGS=--quick)
	@command -v wrk >/dev/null || apt-get install -y wrk || sudo apt-get install -y wrk
	$(BIN)/python bench/pages.py $(ARGS)

bench-fanout: $(VENV)/.installed-dev ## live delivery to thousands of sockets against two baselines
	$(BIN)/pip install --quiet websockets uvloop
	$(BIN)/python bench/fanout.py

screenshots: $(VENV)/.installed-dev ## the main pages on phone and desktop, en and zh, light and dark, into test-results/screens/
	$(BIN)/python tools/screenshots.py

clean: ## remove the virtualenv and caches (keeps ./var, your data)
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
