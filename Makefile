# payoutkit: make run | make test | make lint | make bench
#
# Everything Python lives in .venv. `make test` also makes sure a PostgreSQL server is installed
# (the suite runs every store test on SQLite and on PostgreSQL, with a throwaway cluster it starts
# itself), installing Debian's package only when no `initdb` can be found. connect.js (the embeddable
# components, TypeScript and Lit in connect/) is built by esbuild into payoutkit/static/connect.js: npm
# installs connect/'s lockfile again only when it changes, and the script is rebuilt when its source does.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Re-install when the dependencies change, not on every run.
STAMP  := $(VENV)/.installed
# Root installs system packages directly; anyone else goes through sudo.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get
ARGS   ?=
CONNECT    := connect
NPM_STAMP  := $(CONNECT)/node_modules/.installed
CONNECT_JS := payoutkit/static/connect.js
# Playwright drives Debian's Chromium (/usr/bin/chromium); it never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: venv install connect run test lint bench bench-quick bench-tools postgresql chromium

venv: $(BIN)/python

$(BIN)/python:
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
		echo "python3 cannot create virtualenvs: installing Debian's python3-venv"; \
		$(APT) update && $(APT) install -y --no-install-recommends python3-venv; }
	$(PYTHON) -m venv $(VENV)

install: $(STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[test,demo]'
	touch $@

$(NPM_STAMP): $(CONNECT)/package-lock.json
	cd $(CONNECT) && npm ci --no-audit --no-fund
	touch $@

$(CONNECT_JS): $(NPM_STAMP) $(wildcard $(CONNECT)/src/*.ts) $(CONNECT)/build.mjs $(CONNECT)/package.json
	cd $(CONNECT) && node build.mjs

connect: $(CONNECT_JS)

# Payoutkit (SQLite payoutkit.db, test mode, simulated clock) and the demo platform beside it, seeded on
# first start; ARGS go to `payoutkit-demo`, which passes options it does not know to `payoutkit serve`.
run: install connect
	$(BIN)/payoutkit-demo $(ARGS)

postgresql:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then \
		echo "PostgreSQL: found initdb"; \
	else \
		echo "PostgreSQL: no initdb found, installing Debian's postgresql"; \
		$(APT) update && $(APT) install -y --no-install-recommends postgresql; \
	fi

# The browser tests (tests/browser) launch Debian's Chromium; installed only when it is missing (with a
# font, so the screenshots have text).
chromium:
	@if [ -x /usr/bin/chromium ]; then \
		echo "Chromium: found /usr/bin/chromium"; \
	else \
		echo "Chromium: /usr/bin/chromium missing, installing Debian's chromium"; \
		$(APT) update && $(APT) install -y --no-install-recommends chromium fonts-dejavu-core; \
	fi

lint: install connect
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd $(CONNECT) && npx --no-install tsc --noEmit

test: lint postgresql chromium
	$(BIN)/pytest
	cd $(CONNECT) && npm test --silent

# The recorded figures use wrk (Debian) as the load generator and py-spy (PyPI) for the profile;
# bench/peer.py compares with localstripe (PyPI), installed into .venv for the bench only (no test
# or runtime dependency of Payoutkit).
bench-tools: install
	@command -v wrk >/dev/null 2>&1 || { $(APT) update && $(APT) install -y --no-install-recommends wrk; }
	@[ -x $(BIN)/py-spy ] || $(BIN)/pip install py-spy
	@[ -x $(BIN)/localstripe ] || $(BIN)/pip install 'localstripe==1.15.10'

# Every generated section of docs/benchmarks.md (about 30 minutes on an idle 2-core machine; each
# step's time is logged). PostgreSQL figures use the durable profile (devtools/pg.py: on disk, fsync,
# synchronous_commit and full_page_writes on); ARGS='--pg fast' measures on the test suite's instead.
bench: install postgresql bench-tools connect chromium
	$(BIN)/python bench/run.py $(ARGS)
	$(BIN)/python bench/peer.py
	$(BIN)/python bench/connect_figures.py

# A smoke run of every scenario (a few minutes): figures printed, docs/benchmarks.md untouched.
bench-quick: install postgresql bench-tools
	$(BIN)/python bench/run.py --quick $(ARGS)
	$(BIN)/python bench/peer.py --quick
