# mifund: two commands on a fresh machine, `make demo` and `make test`.
# Both create .venv and install the pinned dependencies (constraints.txt) themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp
DEMO_DIR ?= demo
DEMO_DB  := $(DEMO_DIR)/mifund.duckdb

.PHONY: install test test-fast demo bench lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

demo: install
	mkdir -p $(DEMO_DIR)
	rm -f $(DEMO_DB) $(DEMO_DB).wal
	MIFUND_DB=$(DEMO_DB) $(BIN)/mifund import --sample national
	MIFUND_DB=$(DEMO_DB) $(BIN)/mifund indicators
	MIFUND_DB=$(DEMO_DB) $(BIN)/mifund warnings
	MIFUND_DB=$(DEMO_DB) $(BIN)/mifund indicators --format xlsx --output $(DEMO_DIR)/indicators.xlsx
	MIFUND_DB=$(DEMO_DB) $(BIN)/mifund ledger template $(DEMO_DIR)/ledger_template.xlsx
	@echo "Demo warehouse: $(DEMO_DB); workbook: $(DEMO_DIR)/indicators.xlsx"

bench: install
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
