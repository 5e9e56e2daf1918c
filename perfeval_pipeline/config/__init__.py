"""Configuration: typed models of assets_config/*.yaml and the Settings every stage receives."""

from perfeval_pipeline.config.errors import ConfigError
from perfeval_pipeline.config.models import BudgetUnit, Department
from perfeval_pipeline.config.settings import Paths, Settings, clear_cache, contained, load_settings

__all__ = [
    "BudgetUnit",
    "ConfigError",
    "Department",
    "Paths",
    "Settings",
    "clear_cache",
    "contained",
    "load_settings",
]
