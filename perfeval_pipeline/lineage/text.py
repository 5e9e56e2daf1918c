"""How lineage results print: plain text for people, dicts (→ JSON) for machines. Amounts show in
the unit the form prints them (万元) beside 元."""

from __future__ import annotations

from dataclasses import asdict

from perfeval_pipeline.feeds.files import safe_text
from perfeval_pipeline.lineage.manifest import Verification
from perfeval_pipeline.lineage.trace import (
    FollowUpTrace,
    FollowUpYear,
    IndicatorTrace,
    SourceRow,
    is_follow_up_query,
)

# Without --limit or --all: up to this many rows print in full; above it, the first DEFAULT_LIMIT.
FULL_LISTING_MAX = 50
DEFAULT_LIMIT = 20


def shown_rows(rows: list, limit: int | None, show_all: bool) -> list:
    if show_all:
        return rows
    if limit is not None:
        return rows[:limit]
    return rows if len(rows) <= FULL_LISTING_MAX else rows[:DEFAULT_LIMIT]


def amount(value: float | None, kind: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.2f}"
    return f"{text} 元 ({value / 10000:,.2f} 万元)" if kind == "wan" else text


def _row_line(r: SourceRow) -> str:
    cells = " ".join(f"{r.headers.get(k, k)}={safe_text(v, 40)!r}" for k, v in r.cells.items())
    if r.file.startswith("assets_config/"):
        return f"  {r.role:<12} {r.file} departments.{r.sheet}.staffing_quota.{r.row_hash}  {amount(r.amount):>15}  {cells}"
    status = "" if r.hash_ok else "  ✗ HASH"
    where = f"{r.file} {r.sheet} row {r.row}" if r.sheet else f"{r.file} row {r.row}"
    return f"  {r.role:<12} {safe_text(where):<44} {r.row_hash}  {amount(r.amount):>15}  {cells}{status}"


def trace_text(t: IndicatorTrace, limit: int | None, show_all: bool) -> str:
    unit = f" · {t.unit['name']} ({t.unit['key']})" if t.unit else ""
    levels = f" {t.level1} / {t.level2}" if t.level1 else ""
    lines = [f"{t.name} [{t.id}]{levels}{unit} — {t.department} {t.year}"]
    if t.score:
        s = t.score
        whole = " (the indicator as a whole)" if t.unit else ""
        lines.append(
            f"  score        {s['score']:.2f} of {s['points']:g} points (deduction {s['deduction']:.2f}){whole}"
        )
        lines.append(f"  rule         {s['rule']}")
        lines += [f"  reason       {reason}" for reason in s["reasons"]]
        if s["target"] is not None or s["target_source"]:
            lines.append(
                f"  target       {s['target'] if s['target'] is not None else '—'}  from {s['target_source'] or '—'}"
            )
    elif not t.scored:
        lines.append("  (statistic: printed in the form, not scored)")
    value, shown = (t.unit["value"], t.unit["display"]) if t.unit else (t.value, t.display)
    lines.append(f"  value        {shown}  ({value})")
    if t.reason:
        lines.append(f"  not computable: {t.reason}")
    counts = {role: sum(1 for r in t.rows if r.role == role) for role in t.sides}
    if t.kind == "ratio":
        num, den = (t.unit["numerator"], t.unit["denominator"]) if t.unit else (t.numerator, t.denominator)
        lines.append("  measure      numerator / denominator" + (f" {t.offset:+g}" if t.offset else ""))
        for role, figure in (("numerator", num), ("denominator", den)):
            lines.append(
                f"  {role:<12} {amount(figure, 'wan' if t.money.get(role) else '')} = {t.sides[role]} ({counts[role]} rows)"
            )
    else:
        for role, text in t.sides.items():
            lines.append(f"  {t.kind:<12} {text} ({counts.get(role, 0)} rows)")
    rows = shown_rows(t.rows, limit, show_all)
    lines.append("")
    lines.append(
        f"source rows ({len(rows)} of {len(t.rows)}): role, landing file, sheet, row, row hash, amount, raw cells"
    )
    lines += [_row_line(r) for r in rows]
    if len(rows) < len(t.rows):
        lines.append(
            f"  … {len(t.rows) - len(rows):,} more rows (--all prints every row, --limit N the first N)"
        )
    lines.append("")
    rc = t.recomputation
    verdict = "✓ matches the stored value" if rc.matches else "✗ DOES NOT MATCH the stored value"
    lines.append(
        f"recomputed   {rc.formula} = {rc.display}  {verdict} ({len(t.rows)} rows re-typed from their raw cells)"
    )
    lines += [f"  note: {note}" for note in rc.notes]
    landing = [r for r in t.rows if not r.file.startswith("assets_config/")]
    bad = t.hash_mismatches
    if not bad:
        lines.append(f"row hashes   {len(landing)} of {len(landing)} rows match the landing files ✓")
    else:
        lines.append(f"row hashes   ✗ {len(bad)} of {len(landing)} rows differ from the landing files now:")
        for r in shown_rows(bad, limit, show_all):
            now = f"now {r.landing_hash}" if r.landing_hash else "row or file is gone"
            if r.landing_hash:
                now += f" ({'; '.join(r.changed_cells)})" if r.changed_cells else " (cells used unchanged)"
            lines.append(f"  {safe_text(r.file)} {r.sheet} row {r.row}: recorded {r.row_hash}, {now}")
    return "\n".join(lines)


def trace_dict(t: IndicatorTrace, limit: int | None, show_all: bool) -> dict:
    out = asdict(t)
    rows = shown_rows(t.rows, limit, show_all)
    out["rows"] = [{**asdict(r), "hash_ok": r.hash_ok} for r in rows]
    out["rows_total"] = len(t.rows)
    out["rows_shown"] = len(rows)
    out["hash_mismatches"] = len(t.hash_mismatches)
    return out


def total_text(total: dict) -> str:
    check = "✓" if total["sum_matches"] else "✗ DOES NOT MATCH"
    lines = [
        f"{total['name']} {total['year']}: total {total['total']:.2f} of {total['max_points']:g} points → {total['grade']} ({total['grade_band']})",
        f"  the {len(total['indicators'])} scores below sum to {total['sum_of_scores']:.2f} {check}",
    ]
    lines += [f"  {lvl['name']}  {lvl['score']:.2f} / {lvl['points']:g}" for lvl in total["levels"]]
    lines.append("")
    lines.append(f"  {'id':<34} {'score':>6} / {'pts':<4} {'value':>10}  name")
    lines += [
        f"  {i['id']:<34} {i['score']:>6.2f} / {i['points']:<4g} {i['display']:>10}  {i['name']}"
        for i in total["indicators"]
    ]
    lines.append("")
    lines.append(
        f"one indicator: perfeval trace {total['department']} {total['year']} <id or printed number>"
    )
    return "\n".join(lines)


def verification_text(v: Verification) -> str:
    m = v.manifest
    commit = (m.get("git_commit") or "unknown")[:12] + (
        " with uncommitted changes" if m.get("git_dirty") else ""
    )
    lines = [
        f"verify {v.report_dir}: manifest of {m['created_at']}, perfeval {m['package'].get('version')}, commit {commit}"
    ]
    lines += [f"DRIFT {d}" for d in v.drift]
    lines += [f"note  {n}" for n in v.notes]
    checked = ", ".join(f"{n} {k} file(s)" for k, n in v.checked.items())
    lines.append(f"{'clean' if v.clean else f'{len(v.drift)} drift finding(s)'}: checked {checked}")
    return "\n".join(lines)


def verification_dict(v: Verification) -> dict:
    return {
        "report_dir": str(v.report_dir),
        "clean": v.clean,
        "drift": [asdict(d) for d in v.drift],
        "notes": v.notes,
        "checked": v.checked,
    }


# --- the 整改 follow-up ---------------------------------------------------------------------------
FOLLOW_UP_ROWS = 5  # rows per year of each finding when every finding is listed (rectification)


def follow_up_summary(follow: dict, department: str, year: int) -> str:
    counts: dict[str, int] = {}
    for row in follow["problems"]:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    old = sum(n for s, n in counts.items() if s != "new")
    said = ", ".join(
        f"{s} {counts[s]}" for s in ("resolved", "improved", "unchanged", "worse") if s in counts
    )
    section = (
        "printed in the form" if follow.get("section") else "not printed in the form (rectification_section)"
    )
    return (
        f"整改跟踪 {department} {year}: {old} of {follow['previous_year']}'s problem findings"
        + (f" — {said}" if said else "")
        + f"; {counts.get('new', 0)} new. Section 上年评价问题整改情况: {section}."
    )


def _year_line(y: FollowUpYear, kind: str) -> str:
    figure = y.display if y.display is not None else "—"
    deduction = "—" if y.deduction is None else f"{y.deduction:.2f}"
    item = f"  item {y.item}" if y.item else "  (not listed)"
    what = {"rule": "rows", "unit": "unit", "workpaper": "workpaper"}.get(kind, "value")
    return f"  {y.year}         {what} {figure}  deduction {deduction}{item}"


def _check_line(y: FollowUpYear) -> str:
    if y.note:
        return f"  {y.year} check   ✗ cannot be traced: {y.note}"
    if y.consistent:
        return f"  {y.year} check   ✓ the follow-up's figure and deduction are {y.year}'s stored ones"
    return (
        f"  {y.year} check   ✗ the follow-up says {y.figure} (deduction {y.deduction}), {y.year}'s store "
        f"holds {y.stored_figure} (deduction {y.stored_deduction}): run `perfeval run` again"
    )


def follow_up_text(t: FollowUpTrace, limit: int | None, show_all: bool, full: bool) -> str:
    """One finding: status and why, both years' figures, each year's rows (full: the whole
    indicator trace of each year; else the first rows)."""
    kind = f" ({t.kind})" if t.kind else ""
    lines = [
        f"{t.finding_id} · {t.indicator_name}{kind} — {t.status_text} {t.status}",
        f"  basis        {t.basis}",
        _year_line(t.previous, t.kind),
        _year_line(t.current, t.kind),
        _check_line(t.previous),
        _check_line(t.current),
    ]
    for y in (t.previous, t.current):
        if y.note:
            continue
        lines.append("")
        if full and y.trace is not None:
            lines.append(f"── {y.year} ──")
            lines.append(trace_text(y.trace, limit, show_all))
            if t.kind == "rule":
                lines.append(f"  rows of rule {t.finding_id.split(':', 1)[1]}: {len(y.rows)}")
            continue
        rows = y.rows if full or show_all or limit is not None else y.rows[:FOLLOW_UP_ROWS]
        rows = shown_rows(rows, limit, show_all)
        recomputed = ""
        if y.trace is not None and y.trace.recomputation is not None:
            rc = y.trace.recomputation
            recomputed = f"; recomputed {rc.display} {'✓' if rc.matches else '✗ DOES NOT MATCH'}"
        lines.append(f"  {y.year} rows ({len(rows)} of {len(y.rows)}){recomputed}:")
        lines += [_row_line(r) for r in rows]
        if len(rows) < len(y.rows):
            what = t.finding_id if is_follow_up_query(t.finding_id) else f"rectification:{t.finding_id}"
            lines.append(
                f"  … {len(y.rows) - len(rows):,} more rows (perfeval trace {t.department} {t.year} {what} shows them)"
            )
    return "\n".join(lines)


def follow_up_dict(t: FollowUpTrace, limit: int | None, show_all: bool) -> dict:
    def year(y: FollowUpYear) -> dict:
        rows = shown_rows(y.rows, limit, show_all)
        return {
            "year": y.year,
            "figure": y.figure,
            "display": y.display,
            "deduction": y.deduction,
            "item": y.item,
            "stored_figure": y.stored_figure,
            "stored_deduction": y.stored_deduction,
            "consistent": y.consistent,
            "note": y.note,
            "rows": [{**asdict(r), "hash_ok": r.hash_ok} for r in rows],
            "rows_total": len(y.rows),
            "trace": trace_dict(y.trace, limit, show_all) if y.trace is not None else None,
        }

    return {
        "finding_id": t.finding_id,
        "kind": t.kind,
        "indicator_id": t.indicator_id,
        "indicator_name": t.indicator_name,
        "status": t.status,
        "status_text": t.status_text,
        "basis": t.basis,
        "previous": year(t.previous),
        "current": year(t.current),
        "ok": t.ok,
    }
