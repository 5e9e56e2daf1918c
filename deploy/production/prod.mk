# The production profile on this machine (docs/production.md). Included by the main Makefile:
#   include deploy/production/prod.mk
# Services: PostgreSQL, RabbitMQ and Redis as in deploy/production/prod.env (override any variable
# there from the environment). Processes, logs and pids live under $(PERFEVAL_PROD_DIR) (.prod/).
PROD_BIN      ?= $(or $(BIN),.venv/bin)
PROD_WORKERS  ?= 2
PROD_QUEUES   ?=
PROD_PER_RUN  ?=
PROD_STACK    := $(PROD_BIN)/python deploy/production/prodstack.py
BENCH_WORKERS ?= 1 2 4
BENCH_PARTITIONS ?= 12

.PHONY: prod-up prod-down prod-status prod-backfill bench-production

# make prod-up PROD_WORKERS=4 [PROD_QUEUES=perfeval-ingest]: webserver (UI on :3070), daemon, N workers
prod-up: $(PROD_BIN)/.installed
	$(PROD_STACK) up --workers $(PROD_WORKERS) $(if $(PROD_QUEUES),--queues $(PROD_QUEUES))

# make prod-down [DRAIN=1]: warm shutdown of the workers (running steps finish), then daemon and UI
prod-down:
	$(PROD_STACK) down $(if $(DRAIN),--drain)

prod-status:
	$(PROD_STACK) status

# make prod-backfill [YEAR=2023] [PROD_PER_RUN=3]: evaluate on the running stack and wait
prod-backfill: $(PROD_BIN)/.installed
	$(PROD_STACK) backfill --wait $(if $(YEAR),--year $(YEAR)) $(if $(PROD_PER_RUN),--per-run $(PROD_PER_RUN))

# Scale numbers: a small province backfilled on the production profile with 1, 2 and 4 workers
# (its own stack, database and folders; prints throughput, coordinator overhead, event-log size).
# Also `make bench-province PROFILE=production`.
bench-production: $(PROD_BIN)/.installed
	$(PROD_BIN)/python deploy/production/bench.py --workers $(BENCH_WORKERS) --partitions $(BENCH_PARTITIONS)
