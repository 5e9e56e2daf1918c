"""Celery settings of perfeval's workers: `dagster_celery.app` imports this module when it is on
PYTHONPATH (deploy/production/prodstack.py puts it there), so a worker is started with plain
`celery -A dagster_celery.app worker` and its pid is the worker's main process.

These are WORKER settings: the run's executor config only affects the side that submits the steps.
What makes a step survive the loss of its worker (measured, docs/production.md):
  task_acks_late            the message is acknowledged when the step is done, not when received, so
                            the broker redelivers it when the worker dies;
  task_reject_on_worker_lost the pool child killed -> message requeued (not a WorkerLostError failure).
RabbitMQ requeues an unacknowledged message as soon as the worker's connection drops. Redis only
after the visibility timeout, which must therefore exceed the longest step (else a running step is
delivered a second time); kombu's restore scan is made frequent below."""

import os

broker_url = os.environ.get("PERFEVAL_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
result_backend = os.environ.get("PERFEVAL_CELERY_BACKEND", "redis://127.0.0.1:6379/1")

task_acks_late = True
task_reject_on_worker_lost = True  # for a prefork pool; the threads pool below has no child to lose
# Steps run in a thread of the worker's main process, not in a prefork child: a step fans its
# partitions out over a process pool (pipeline.yaml `workers`), and a prefork child is daemonic and
# may not start processes ("AssertionError: daemonic processes are not allowed to have children",
# measured). The main thread keeps serving the broker connection (AMQP heartbeats) meanwhile, which
# the solo pool would not. With concurrency 1 a worker runs one step at a time.
worker_pool = "threads"
worker_prefetch_multiplier = 1  # a worker holds only the step it runs; the others stay in the queue
worker_concurrency = int(os.environ.get("PERFEVAL_WORKER_CONCURRENCY", "1"))
task_default_queue = "dagster"
task_default_priority = 5
worker_send_task_events = False
worker_hijack_root_logger = False

broker_transport_options = {
    # dagster-celery's own defaults (replacing the dict drops them, so they are repeated here)
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
if broker_url.startswith(("redis://", "rediss://")):
    broker_transport_options |= {
        "visibility_timeout": int(os.environ.get("PERFEVAL_CELERY_VISIBILITY_TIMEOUT", "3600")),
        "unacked_restore_interval": 5,  # kombu checks every 10 s by default ...
        "unacked_restore_throttle": 1,  # ... and scans only every 10th check (~100 s)
    }


if os.environ.get("PERFEVAL_WORKER_PRELOAD", "1") == "1":
    # The code location and Great Expectations (5-10 s of imports) are imported once, when the worker
    # starts, not by its first step. A worker keeps this code until it is restarted (restart the
    # workers when the code or the configuration changes, as the code server).
    import great_expectations  # noqa: F401

    import perfeval_pipeline.orchestration.definitions  # noqa: F401
