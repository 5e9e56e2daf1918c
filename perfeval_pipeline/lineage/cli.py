"""Lineage subcommands of `perfeval` (trace, sql, verify)."""

from __future__ import annotations


def register(sub) -> None:
    """Add the lineage subcommands to the `perfeval` parser."""
