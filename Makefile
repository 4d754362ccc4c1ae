# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
STAMP  := $(VENV)/.installed

.PHONY: setup run test test-fast bench clean assets install prerequisites

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

test: prerequisites install assets
	$(BIN)/pytest

# Name what is missing before anything is installed, instead of failing halfway through.
prerequisites:
	@missing=""; \
	$(PYTHON) -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
		|| missing="$$missing\n  Python 3.11+ with venv (apt-get install python3 python3-venv)"; \
	command -v npm >/dev/null || missing="$$missing\n  Node.js and npm (apt-get install nodejs npm)"; \
	command -v java >/dev/null || missing="$$missing\n  Java for the HTML checker (apt-get install default-jre-headless)"; \
	command -v "$${CHROMIUM_PATH:-chromium}" >/dev/null \
		|| missing="$$missing\n  Chromium for the browser tests (apt-get install chromium)"; \
	$(PYTHON) -c 'import ctypes.util, sys; sys.exit(not ctypes.util.find_library("pango-1.0"))' 2>/dev/null \
		|| missing="$$missing\n  Pango for PDF output (apt-get install libpango-1.0-0 libpangoft2-1.0-0)"; \
	$(PYTHON) -c 'import ctypes.util, sys; sys.exit(not ctypes.util.find_library("harfbuzz-subset"))' 2>/dev/null \
		|| missing="$$missing\n  HarfBuzz subsetting for PDF/A output (apt-get install libharfbuzz-subset0)"; \
	command -v qpdf >/dev/null || missing="$$missing\n  qpdf to check signed PDFs (apt-get install qpdf)"; \
	if [ -n "$$missing" ]; then printf "make test needs:$$missing\n" >&2; exit 1; fi

test-fast: install assets
	$(BIN)/pytest -m "not browser"

bench: install assets
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/signed_in.py
	$(BIN)/python benchmarks/crypto_fields.py

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
