# perfeval: `make run` sets everything up and evaluates every demo partition; `make test` tests.
VENV      := .venv
BIN       := $(VENV)/bin
PYTHON    ?= python3
export DAGSTER_HOME := $(CURDIR)/.dagster_home
UI_HOST   ?= 127.0.0.1
UI_PORT   ?= 3000
RO_PORT   ?= 3001

.PHONY: install demo run test test-fast lint format ui ui-readonly bench pdf clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/.installed

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	printf 'telemetry:\n  enabled: false\n' > $@

demo: install
	$(BIN)/perfeval demo

run: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/perfeval demo
	@start=$$(date +%s); $(BIN)/perfeval run; rc=$$?; \
	  echo "make run: evaluation took $$(( $$(date +%s) - start ))s"; exit $$rc

test: install
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not slow and not browser"

lint: install
	$(BIN)/ruff check perfeval_pipeline tests
	$(BIN)/ruff format --check perfeval_pipeline tests

format: install
	$(BIN)/ruff check --fix perfeval_pipeline tests
	$(BIN)/ruff format perfeval_pipeline tests

ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h $(UI_HOST) -p $(UI_PORT)

ui-readonly: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster-webserver -w workspace.yaml -h $(UI_HOST) -p $(RO_PORT) --read-only

clean:
	rm -rf data .dagster_home reports/20*
