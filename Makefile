# perfeval: `make run` sets everything up and evaluates every demo partition; `make test` tests.
VENV      := .venv
BIN       := $(VENV)/bin
PYTHON    ?= python3
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
UI_HOST   ?= 127.0.0.1
UI_PORT   ?= 3000
RO_PORT   ?= 3001
# make bench-province DEPTS=220 YEARS=3 is the issue's province; the default is a quick sample.
# make bench-province PROFILE=production: the production stack with 1, 2 and 4 workers (prod.mk).
DEPTS     ?= 32
YEARS     ?= 1
BENCH_DIR ?= /tmp/perfeval-province

.PHONY: install system run demo test test-fast lint format ui ui-readonly bench bench-province pdf clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/.installed

# CJK fonts and LibreOffice (installed with apt-get when root, else the command is printed).
system:
	.ci/system-packages run

# The embedded default deployment (deploy/local): SQLite-backed DAGSTER_HOME.
$(DAGSTER_HOME)/dagster.yaml: deploy/local/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp deploy/local/dagster.yaml $@

demo: install
	$(BIN)/perfeval demo

run: install system $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/perfeval demo
	@start=$$(date +%s); $(BIN)/perfeval run; rc=$$?; \
	  echo "make run: evaluation took $$(( $$(date +%s) - start ))s; forms under reports/, UI: make ui"; exit $$rc

# Two test files at a time (-n, --dist loadfile keeps a file's module fixtures in one process):
# their waits on services, browsers and LibreOffice overlap (611 s vs 775 s serial in one venv; 759 s
# on a clean clone: docs/measurements.md). TEST_JOBS=1 runs one file at a time.
TEST_JOBS ?= 2
test: install
	.ci/system-packages test
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile

test-fast: install
	$(BIN)/pytest -q -m "not slow and not browser and not production"

lint: install
	$(BIN)/ruff check perfeval_pipeline tests deploy
	$(BIN)/ruff format --check perfeval_pipeline tests deploy

format: install
	$(BIN)/ruff check --fix perfeval_pipeline tests deploy
	$(BIN)/ruff format perfeval_pipeline tests deploy

ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h $(UI_HOST) -p $(UI_PORT)

ui-readonly: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster-webserver -w workspace.yaml -h $(UI_HOST) -p $(RO_PORT) --read-only

# Benchmarks, not tests: a province of synthetic departments through Dagster and through the
# plain-Python baseline, each in its own folders (perfeval_pipeline/bench/province.py), over half the
# departments and over all: 16 = two clones of each demo department, so both halves are alike.
bench: install
	$(BIN)/python -m perfeval_pipeline.bench.province --depts 16 --years 1 --dir $(BENCH_DIR)-small

# PROFILE=production: the same question on the production stack with 1, 2 and 4 Celery workers.
ifeq ($(PROFILE),production)
bench-province: bench-production
else
bench-province: install
	$(BIN)/python -m perfeval_pipeline.bench.province --depts $(DEPTS) --years $(YEARS) --dir $(BENCH_DIR)
endif

# Every reports/*/*/feedback_form.docx → .pdf beside it (LibreOffice, fonts from render/fonts.conf).
pdf: install system
	$(BIN)/python -m perfeval_pipeline.render.pdf

clean:
	rm -rf data/store reports/*/ .dagster_home

-include deploy/production/prod.mk
