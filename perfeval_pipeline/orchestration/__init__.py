"""Orchestration: the thin Dagster shell. Assets and checks only wire the stage functions to
department × year partitions, the store, and materialization metadata."""
