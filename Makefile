# mifund: two commands on a fresh machine, `make demo` and `make test`.
# Both create .venv and install the pinned dependencies (constraints.txt) themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp
DEMO_DIR ?= demo
SIZE ?= small
SEED ?= 1
PORT ?= 8000
DEMO_DB  := $(DEMO_DIR)/mifund.duckdb

.PHONY: install browser test test-fast demo bench lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's Chromium (Playwright with executablePath=/usr/bin/chromium); Chinese pages
# need the WenQuanYi Zen Hei font. Installed once, from Debian's packages, when missing.
browser:
	@test -x /usr/bin/chromium && fc-list 2>/dev/null | grep -qi zenhei || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }

test: install browser
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

demo: install
	$(BIN)/mifund demo run --size $(SIZE) --seed $(SEED) --out $(DEMO_DIR) --port $(PORT)
	MIFUND_DB=$(DEMO_DB) $(BIN)/mifund indicators --region 360100 --year 2024 --scheme resident
	MIFUND_DB=$(DEMO_DB) $(BIN)/mifund warnings --year 2024 --level red --level orange
	@echo "Report: $(DEMO_DIR)/annual_report_zh.html (and _en, .xlsx; fund_report.xlsx)   Warehouse: $(DEMO_DB)"
	@echo "Dashboard: http://127.0.0.1:$(PORT)/  (logins above; Ctrl-C stops it)"
	$(BIN)/mifund serve --db $(DEMO_DB) --host 127.0.0.1 --port $(PORT)

bench: install
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
