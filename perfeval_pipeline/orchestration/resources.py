"""Resources: where perfeval reads and writes, and how many worker processes a run may use.

One `ConfigurableResource`; its fields are bound to PERFEVAL_* environment variables (`EnvVar`) when
they are set, so the same definitions serve a laptop (the defaults of pipeline.yaml) and a
production deployment (paths from the environment) without code changes."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from perfeval_pipeline.config.settings import Paths, Settings, load_settings
from perfeval_pipeline.store import Store

ENV = {
    "home": "PERFEVAL_HOME",
    "config_dir": "PERFEVAL_CONFIG",
    "landing_dir": "PERFEVAL_LANDING",
    "store_dir": "PERFEVAL_STORE",
    "reports_dir": "PERFEVAL_REPORTS",
}


class PerfevalResource(dg.ConfigurableResource):
    """perfeval's folders (each defaults to pipeline.yaml relative to the project root) and the
    worker processes a run fans its partitions out to."""

    home: str | None = Field(default=None, description="project root (PERFEVAL_HOME)")
    config_dir: str | None = Field(default=None, description="assets_config folder (PERFEVAL_CONFIG)")
    landing_dir: str | None = Field(default=None, description="landing folder (PERFEVAL_LANDING)")
    store_dir: str | None = Field(default=None, description="data store (PERFEVAL_STORE)")
    reports_dir: str | None = Field(default=None, description="reports folder (PERFEVAL_REPORTS)")
    workers: int = Field(
        default=0, description="worker processes per run; 0: pipeline.yaml workers (0 = one per CPU)"
    )
    progress_fd: int | None = Field(
        default=None,
        description="file descriptor that gets one line per finished partition (the CLI's terminal)",
    )

    def paths(self) -> Paths:
        return Paths.resolve(self.home, self.config_dir, self.landing_dir, self.store_dir, self.reports_dir)

    def settings(self) -> Settings:
        return load_settings(self.paths())

    def store(self) -> Store:
        return Store(self.settings().store_dir)

    def progress(self, line: str) -> None:
        if self.progress_fd is not None:
            os.write(self.progress_fd, (line + "\n").encode("utf-8", "replace"))


def perfeval_resource(**overrides) -> PerfevalResource:
    """The resource of this deployment: fields bound to the PERFEVAL_* variables that are set."""
    bound = {field: dg.EnvVar(var) for field, var in ENV.items() if os.environ.get(var)}
    return PerfevalResource(**{**bound, **overrides})
