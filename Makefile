# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
STAMP  := $(VENV)/.installed

.PHONY: setup run test test-fast bench clean assets install

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt --editable '.[test]'
	touch $@

install: $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

static/vendor/htmx.min.js: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

assets: static/vendor/htmx.min.js

setup: install assets
	$(BIN)/trustcenter db upgrade
	$(BIN)/trustcenter demo

run: setup
	$(BIN)/trustcenter run --host $(HOST) --port $(PORT)

test: install assets
	$(BIN)/pytest

test-fast: install assets
	$(BIN)/pytest -m "not browser"

bench: install assets
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/signed_in.py
	$(BIN)/python benchmarks/crypto_fields.py

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
