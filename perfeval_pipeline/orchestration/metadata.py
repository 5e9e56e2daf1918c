"""Materialization metadata a person reads at a glance: markdown tables, counts, paths."""

from __future__ import annotations


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    if not rows:
        return "_(none)_"
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "".join(
        "| " + " | ".join(str(r.get(c, "")).replace("|", "\\|").replace("\n", " ") for c in columns) + " |\n"
        for r in rows
    )
    return head + body


def partition_label(department: str, year: int) -> str:
    return f"{department}|{year}"
