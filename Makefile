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
	printf 'telemetry:\n  enabled: false\nrun_queue:\n  max_concurrent_runs: 2\n' > $@

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

# Benchmark, not a test: one year × every department as ONE run over the partition range, then the
# same partitions as one `dagster asset materialize` run each. Own data and instance under BENCH_DIR.
BENCH_DIR  ?= /tmp/perfeval-bench
BENCH_YEAR ?= 2024
bench: install
	@set -u; export DAGSTER_HOME=$(BENCH_DIR)/dagster_home PERFEVAL_LANDING=$(BENCH_DIR)/landing \
	  PERFEVAL_STORE=$(BENCH_DIR)/store PERFEVAL_REPORTS=$(BENCH_DIR)/reports; \
	mkdir -p $$DAGSTER_HOME; printf 'telemetry:\n  enabled: false\n' > $$DAGSTER_HOME/dagster.yaml; \
	$(BIN)/perfeval demo -y $(BENCH_YEAR) 2>/dev/null || exit 1; \
	depts=$$($(BIN)/python -c 'from perfeval_pipeline.config import settings; print(*sorted(settings().departments))'); \
	first=$${depts%% *}; last=$${depts##* }; \
	mat="$(BIN)/dagster asset materialize -m perfeval_pipeline.orchestration.definitions --select '*'"; \
	echo "bench: $$(nproc) cores; env DAGSTER_HOME=$$DAGSTER_HOME PERFEVAL_LANDING=$$PERFEVAL_LANDING" \
	  "PERFEVAL_STORE=$$PERFEVAL_STORE PERFEVAL_REPORTS=$$PERFEVAL_REPORTS; logs in $(BENCH_DIR)/*.log"; \
	one="$$mat --partition-range '$$first|$(BENCH_YEAR)...$$last|$(BENCH_YEAR)'"; \
	t0=$$(date +%s.%N); eval "$$one" > $(BENCH_DIR)/one-run.log 2>&1; rc=$$?; t1=$$(date +%s.%N); \
	printf 'one run, %s partitions:  %6.1f s  exit %s  %s\n' "$$(echo $$depts | wc -w)" \
	  "$$(awk "BEGIN{print $$t1-$$t0}")" "$$rc" "$$one"; \
	each="for d in $$depts; do $$mat --partition \"\$$d|$(BENCH_YEAR)\"; done"; \
	: > $(BENCH_DIR)/run-each.log; rcs=""; t0=$$(date +%s.%N); for d in $$depts; do \
	  eval "$$mat --partition '$$d|$(BENCH_YEAR)'" >> $(BENCH_DIR)/run-each.log 2>&1; rcs="$$rcs$$? "; done; \
	t1=$$(date +%s.%N); \
	printf 'one run per partition:  %6.1f s  exits %s %s\n' "$$(awk "BEGIN{print $$t1-$$t0}")" "$$rcs" "$$each"

# Every reports/*/*/feedback_form.docx → .pdf beside it (soffice --headless --convert-to pdf, with
# perfeval_pipeline/render/fonts.conf mapping 仿宋/黑体/宋体 onto Noto CJK).
pdf: install
	$(BIN)/python -m perfeval_pipeline.render.pdf

clean:
	rm -rf data .dagster_home reports/20*
