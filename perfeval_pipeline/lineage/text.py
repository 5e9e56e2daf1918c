"""How lineage results print: plain text for people, dicts (→ JSON) for machines."""

from __future__ import annotations

from dataclasses import asdict

from perfeval_pipeline.lineage.manifest import Verification
from perfeval_pipeline.lineage.sources import CONFIG_PREFIX
from perfeval_pipeline.lineage.trace import IndicatorTrace, SourceRow, side_spec, sum_columns

# Up to this many rows print in full without --all; above it, the first --limit rows and the count.
FULL_LISTING_MAX = 50


def shown_rows(rows: list, limit: int, show_all: bool) -> list:
    return rows if show_all or len(rows) <= FULL_LISTING_MAX else rows[:limit]


def describe_side(side: dict) -> str:
    if "quota" in side:
        return "staffing quota (assets_config/departments.yaml)"
    cols = sum_columns(side)
    what = f"sum of {' + '.join(cols)}" if cols else "count of rows"
    text = f"{what} in {side['table']}"
    if side.get("where"):
        text += f" where {side['where']}"
    if side.get("distinct"):
        text += f" (distinct {side['distinct']})"
    return text


def _roles(t: IndicatorTrace) -> list[str]:
    kind = t.measure["kind"]
    if kind == "ratio":
        return ["numerator", "denominator"]
    if kind == "rule_hits":
        return list(t.measure["rules"])
    return ["value" if kind == "total" else "item"]


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _row_line(r: SourceRow) -> str:
    # Cells under the header the landing file shows (e.g. 决算数（万元）), so the auditor finds them.
    cells = " ".join(f"{r.headers.get(k, k)}={v!r}" for k, v in r.cells.items())
    if r.file.startswith(CONFIG_PREFIX):
        # Config evidence (the staffing quota) names its key where a landing row has its hash.
        return f"  {r.role:<12} {r.file} {r.sheet} staffing_quota.{r.row_hash}  {_num(r.amount):>15}  {cells}"
    status = "" if r.hash_ok else "  ✗ HASH"
    where = f"{r.file} {r.sheet} row {r.row}" if r.sheet else f"{r.file} row {r.row}"
    return f"  {r.role:<12} {where:<44} {r.row_hash}  {_num(r.amount):>15}  {cells}{status}"


def trace_text(t: IndicatorTrace, limit: int, show_all: bool) -> str:
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
        for reason in s["reasons"]:
            lines.append(f"  reason       {reason}")
        if s["target"] is not None or s["target_source"]:
            lines.append(
                f"  target       {_num(s['target']) if s['target'] is not None else '—'}"
                f"  from {s['target_source'] or '—'}"
            )
    elif not t.scored:
        lines.append("  (statistic: printed in the form, not scored)")
    value, display = (t.unit["value"], t.unit["display"]) if t.unit else (t.value, t.display)
    lines.append(f"  value        {display}  ({value})")
    if t.reason:
        lines.append(f"  not computable: {t.reason}")
    kind = t.measure["kind"]
    counts = {role: sum(1 for r in t.rows if r.role == role) for role in _roles(t)}
    if kind == "ratio":
        offset = t.measure.get("offset")
        lines.append("  measure      numerator / denominator" + (f" {float(offset):+g}" if offset else ""))
        num, den = (t.unit["numerator"], t.unit["denominator"]) if t.unit else (t.numerator, t.denominator)
        for role, amount in (("numerator", num), ("denominator", den)):
            lines.append(
                f"  {role:<12} {_num(amount)} = {describe_side(t.measure[role])} ({counts[role]} rows)"
            )
    elif kind == "rule_hits":
        lines.append("  measure      rules that found at least one row")
        for role in _roles(t):
            lines.append(f"  {role:<12} {counts[role]} rows: {describe_side(side_spec(t.measure, role))}")
    else:
        role = _roles(t)[0]
        lines.append(
            f"  measure      {kind}: {describe_side(side_spec(t.measure, role))} ({counts[role]} rows)"
        )
    rows = shown_rows(t.rows, limit, show_all)
    lines.append("")
    lines.append(
        f"source rows ({len(rows)} of {len(t.rows)}): role, landing file, sheet, row, row hash, amount, "
        f"raw cells"
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
        f"recomputed   {rc.formula} = {rc.display}  {verdict} "
        f"({len(t.rows)} rows re-typed from their raw cells)"
    )
    for note in rc.notes:
        lines.append(f"  note: {note}")
    landing_rows = [r for r in t.rows if not r.file.startswith(CONFIG_PREFIX)]
    bad = t.hash_mismatches
    if not bad:
        lines.append(
            f"row hashes   {len(landing_rows)} of {len(landing_rows)} rows match the landing files ✓"
        )
    else:
        lines.append(
            f"row hashes   ✗ {len(bad)} of {len(landing_rows)} rows differ from the landing files now:"
        )
        for r in shown_rows(bad, limit, show_all):
            now = f"now {r.landing_hash}" if r.landing_hash else "row or file is gone"
            if r.landing_hash:
                now += f" ({'; '.join(r.changed_cells)})" if r.changed_cells else " (cells used unchanged)"
            where = f"{r.file} {r.sheet} row {r.row}" if r.sheet else f"{r.file} row {r.row}"
            lines.append(f"  {where}: recorded {r.row_hash}, {now}")
    return "\n".join(lines)


def trace_dict(t: IndicatorTrace, limit: int, show_all: bool) -> dict:
    out = asdict(t)
    rows = shown_rows(t.rows, limit, show_all)
    out["rows"] = [{**asdict(r), "hash_ok": r.hash_ok} for r in rows]
    out["rows_total"] = len(t.rows)
    out["rows_shown"] = len(rows)
    out["hash_mismatches"] = len(t.hash_mismatches)
    return out


def total_text(total: dict) -> str:
    lines = [
        f"{total['department']} {total['year']}: total {total['total']:.2f} of {total['max_points']:g} "
        f"points → {total['grade']}"
    ]
    lines += [f"  {lvl['name']}  {lvl['score']:.2f} / {lvl['points']:g}" for lvl in total["levels"]]
    lines.append("")
    lines.append(f"  {'id':<34} {'score':>6} / {'pts':<4} {'value':>10}  name")
    for i in total["indicators"]:
        lines.append(
            f"  {i['id']:<34} {i['score']:>6.2f} / {i['points']:<4g} {i['display']:>10}  {i['name']}"
        )
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
        f"verify {v.report_dir}: manifest of {m['created_at']}, perfeval {m['package'].get('version')}, "
        f"commit {commit}"
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
