"""Deterministic demo landing data for every department × year: the five feeds as a department and its
evaluator would export them. The seed partition (jdz-zwsjj 2023) reproduces the raw facts behind the
real feedback form; srs-zwsjj carries planted defects (PLANTED_DEFECTS) for the quality checks.
Departments of the 交通运输 framework (jtys) get transport data from transport.py."""

from perfeval_pipeline.demo.defects import PLANTED_DEFECTS
from perfeval_pipeline.demo.generate import generate_demo
from perfeval_pipeline.demo.seed import SEED_PARTITION, SEED_WORKPAPER_DEDUCTIONS

__all__ = ["PLANTED_DEFECTS", "SEED_PARTITION", "SEED_WORKPAPER_DEDUCTIONS", "generate_demo"]
