"""Reports from result.json: the Word form against the real seed form, the workbook, the chart, the
province summary, determinism, and the PDF conversion."""

from __future__ import annotations

import copy
import difflib
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from perfeval_pipeline.render import chart as chart_module
from perfeval_pipeline.render import render_chart, render_docx, render_summary, render_xlsx
from perfeval_pipeline.render.pdf import convert_to_pdf, soffice
from perfeval_pipeline.render.xlsx_form import EVIDENCE_ROW_LIMIT

FIXTURES = Path(__file__).parent / "fixtures"
SEED = FIXTURES / "seed_feedback_form.txt"
DEPARTMENT, YEAR = "jdz-zwsjj", 2023
FORM_LABELS = [
    "评价组织机构",
    "评价部门",
    "评价类型",
    "评价年度",
    "评价机构",
    "评价时间",
    "评价分值",
    "评价结论",
    "基本情况",
    "主要绩效情况",
    "主要问题与建议",
    "一、存在问题",
    "二、相关建议",
]
# Every figure /work/shared/brief/seed-figures.md lists that the printed form shows, with just
# enough context to be unambiguous; compared with all whitespace removed.
SEED_FIGURES = [
    "11项职能",
    "预算单位5个",
    "4个职能科室",
    "65名",
    "12名",
    "36名",
    "17名",
    "3708.51万元",
    "3935.02万元",
    "0.00万元",
    "226.51万元",
    "331.99万元",
    "1958.52万元",
    "489.93%",
    "84.00万元",
    "10.84万元",
    "2.64%",
    "8.38%",
    "4方面",
    "50.19%",
    "完成率100%",
    "办结率100%",
    "76.86万元",
    "25.85万件",
    "9400项",
    "408项",
    "99.60%",
    "270项",
    "及时率100%",
    "电子化交易率为100%",
    "98.67%",
    "认领率比例达100%",
    "60%",
    "1919家",
    "5809项",
    "3.03",
    "29.26%",
    "80%",
    "2023年",
    "2024年6月",
    "2024年6月4日",
    "81.47",
    "良",
]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def docx_lines(path: Path) -> list[str]:
    """Paragraph texts in reading order, table cells included once even when merged."""
    doc = Document(path)
    lines = []
    for el in doc.element.body.iterchildren():
        if el.tag == qn("w:p"):
            lines.append(Paragraph(el, doc).text)
        elif el.tag == qn("w:tbl"):
            seen = set()
            for row in Table(el, doc).rows:
                for cell in row.cells:
                    if cell._tc not in seen:
                        seen.add(cell._tc)
                        lines += [p.text for p in cell.paragraphs]
    return lines


def seed_text() -> str:
    return squeeze(re.sub(r"</?p>", "", SEED.read_text(encoding="utf-8")))


def assert_in_order(text: str, needles: list[str]) -> None:
    pos = 0
    for needle in needles:
        found = text.find(needle, pos)
        assert found >= 0, f"{needle!r} missing or out of order after position {pos}"
        pos = found + len(needle)


def seed_headings() -> list[str]:
    """The seed's labels and its problem/recommendation group titles, in order."""
    titles = re.findall(r"[(（][一二三四五六七八九十][)）]\s*([^\n]+)", SEED.read_text(encoding="utf-8"))
    half = len(titles) // 2
    return [*FORM_LABELS[:12], *titles[:half], FORM_LABELS[12], *titles[half:]]


@pytest.fixture(scope="module")
def result() -> dict:
    return json.loads((FIXTURES / "result_jdz-zwsjj_2023.json").read_text(encoding="utf-8"))


def evidence_for(result: dict, planted: dict[str, str] | None = None, big: str | None = None) -> pd.DataFrame:
    """Three source rows per computed indicator; `planted` overrides the first row's text columns,
    `big` gets EVIDENCE_ROW_LIMIT + 1 rows spread over two files."""
    rows = []
    for ind in result["indicators"]:
        n = EVIDENCE_ROW_LIMIT + 1 if ind["id"] == big else 3
        rows += [
            {
                "indicator_id": ind["id"],
                "role": "value",
                "table": "demo.table",
                "_source_file": f"feed_{k % 2}.xlsx",
                "_source_sheet": "Sheet1",
                "_source_row": k + 2,
                "_row_hash": f"{ind['id']}-{k}",
                "amount": 1.5,
            }
            for k in range(n)
        ]
    frame = pd.DataFrame(rows)
    for column, text in (planted or {}).items():
        frame.loc[0, column] = text
    return frame


@pytest.fixture(scope="module")
def chart(result) -> bytes:
    return render_chart(result)


@pytest.fixture(scope="module")
def docx_path(result, chart, tmp_path_factory) -> Path:
    return render_docx(result, tmp_path_factory.mktemp("docx") / "feedback_form.docx", chart=chart)


def test_docx_follows_the_seed_form(docx_path, result):
    text = squeeze("".join(docx_lines(docx_path)))
    assert text.startswith(result["header"]["title"])
    assert_in_order(text, seed_headings())
    ratio = difflib.SequenceMatcher(None, text, seed_text(), autojunk=False).ratio()
    assert ratio >= 0.75, ratio
    doc = Document(docx_path)
    header = [[c.text for c in row.cells] for row in doc.tables[0].rows[:4]]
    assert header[0] == ["评价组织机构", "景德镇市财政局", "评价部门", "景德镇市政务服务数据管理局"]
    assert header[3] == ["评价分值", "81.47", "评价结论", "良"]


def test_docx_typography_and_properties(docx_path, result):
    doc = Document(docx_path)
    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    runs = [r for p in doc.paragraphs for r in p.runs]
    runs += [r for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs]
    assert runs and all(r._element.rPr.rFonts.get(qn("w:eastAsia")) for r in runs if r.text)
    assert len(doc.inline_shapes) == 1  # the chart in the appendix
    props = doc.core_properties
    assert (
        props.created.date().isoformat()
        == result["header"]["evaluation_date"]
        == props.modified.date().isoformat()
    )
    with zipfile.ZipFile(docx_path) as z:
        assert {i.date_time[:3] for i in z.infolist()} == {(2024, 6, 4)}


def test_no_form_for_a_blocked_result(tmp_path):
    blocked = {
        "department": DEPARTMENT,
        "year": YEAR,
        "status": "blocked",
        "header": {},
        "blocked_reasons": ["x"],
    }
    with pytest.raises(ValueError, match="blocked"):
        render_docx(blocked, tmp_path / "f.docx")
    with pytest.raises(ValueError, match="blocked"):
        render_xlsx(blocked, None, tmp_path / "f.xlsx")


def test_same_result_gives_identical_bytes(result, chart, tmp_path):
    evidence = evidence_for(result)
    # "a" draws its own chart, "b" reuses the module's: equal bytes also prove the chart deterministic.
    for name, own_chart in (("a", None), ("b", chart)):
        render_docx(result, tmp_path / name / "f.docx", chart=own_chart)
        render_xlsx(result, evidence, tmp_path / name / "f.xlsx", chart=own_chart)
        render_summary([result], tmp_path / name / "s.xlsx")
    for file in ("f.docx", "f.xlsx", "s.xlsx"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temp files behind


def test_xlsx_scores_read_back(result, chart, tmp_path):
    path = render_xlsx(result, evidence_for(result), tmp_path / "f.xlsx", chart=chart)
    wb = openpyxl.load_workbook(path)
    ws = wb["评分表"]
    assert ws.freeze_panes == "D3"
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    subtotals = {r[0]: r for r in rows if r[2] == "小计"}
    for level in result["levels"]:
        assert subtotals[level["name"]][4] == level["points"]
        assert subtotals[level["name"]][8] == level["score"]
        scores = [r[8] for r in rows if r[0] == level["name"] and r[2] not in ("小计",)]
        assert sum(scores) == pytest.approx(level["score"])
    total = next(r for r in rows if r[2] == "合计")
    assert (total[4], total[8]) == (result["max_points"], result["total_score"])
    assert next(r for r in rows if r[2] == "评价结论")[8] == result["grade"]
    rate = next(c for c in ws["G"] if c.value == pytest.approx(0.2926))
    assert rate.number_format == "0.00%"
    assert "统计指标" in wb.sheetnames and "图表" in wb.sheetnames
    computed = [i["id"] for i in result["indicators"] if i["value"] is not None]
    assert [s for s in wb.sheetnames if s not in ("评分表", "统计指标", "图表")] == computed


def test_formula_text_in_source_rows_stays_inert(result, chart, tmp_path):
    planted = {
        "_source_file": '=HYPERLINK("http://evil.example","x")',
        "_source_sheet": "@SUM(A1)",
        "_row_hash": "-2+3",
        "role": "+cmd|' /C calc'!A0",
    }
    path = render_xlsx(result, evidence_for(result, planted), tmp_path / "f.xlsx", chart=chart)
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for name in sheets:
            assert not re.search(r"<f[ >]", z.read(name).decode("utf-8")), name
    ws = openpyxl.load_workbook(path)[result["indicators"][0]["id"]]
    cells = {c.value: c for c in ws[3]}
    for text in planted.values():
        assert cells[text].data_type == "s"
    assert cells[planted["_source_file"]].quotePrefix


def test_huge_evidence_is_summarized_with_the_trace_command(result, chart, tmp_path):
    path = render_xlsx(result, evidence_for(result, big="hotline_tickets"), tmp_path / "f.xlsx", chart=chart)
    ws = openpyxl.load_workbook(path)["hotline_tickets"]
    values = [r for r in ws.iter_rows(values_only=True)]
    assert values[2][0] == f"perfeval trace {DEPARTMENT} {YEAR} hotline_tickets"
    assert ws.max_row < 20
    assert sum(r[3] for r in values[5:]) == EVIDENCE_ROW_LIMIT + 1


def _department(result: dict, code: str, total: float, grade: str) -> dict:
    other = copy.deepcopy(result)
    other["department"] = other["header"]["department_code"] = code
    other["header"]["department_name"] = f"{code}局"
    other["total_score"], other["grade"] = total, grade
    return other


def test_summary_ranks_departments_and_counts_grades(result, tmp_path):
    blocked = {
        "department": "aaa-blocked",
        "year": YEAR,
        "status": "blocked",
        "header": {"department_name": "某局", "evaluation_date": None},
        "blocked_reasons": ["financial: missing required column 决算数"],
    }
    results = [
        result,
        _department(result, "pxs-zwsjj", 91.2, "优"),
        blocked,
        _department(result, "xys-zwsjj", 65.0, "中"),
    ]
    wb = openpyxl.load_workbook(render_summary(results, tmp_path / "summary.xlsx"))
    rows = list(wb["汇总"].iter_rows(min_row=3, values_only=True))
    assert [r[1] for r in rows] == ["pxs-zwsjj", DEPARTMENT, "xys-zwsjj", "aaa-blocked"]
    assert [r[0] for r in rows] == [1, 2, 3, None]
    assert rows[1][3] == result["total_score"]
    assert rows[1][6 : 6 + len(result["levels"])] == tuple(lvl["score"] for lvl in result["levels"])
    assert rows[3][5] == "未评价" and "决算数" in rows[3][-1]
    dist = {r[0]: r[2] for r in wb["等级分布"].iter_rows(min_row=2, values_only=True)}
    assert dist == {"优": 1, "良": 1, "中": 1, "差": 0, "未评价": 1}


def test_chart_fails_clearly_without_a_cjk_font(monkeypatch, result):
    monkeypatch.setattr(chart_module, "CJK_FAMILIES", ("No Such CJK Font",))
    chart_module.cjk_font_family.cache_clear()
    try:
        with pytest.raises(chart_module.CJKFontMissing, match="fonts-noto-cjk"):
            render_chart(result)
    finally:
        chart_module.cjk_font_family.cache_clear()


@pytest.mark.skipif(
    soffice() is None or shutil.which("pdftotext") is None,
    reason="LibreOffice (soffice) or pdftotext not installed",
)
def test_pdf_conversion_keeps_the_title(docx_path, result, tmp_path):
    docx = shutil.copy(docx_path, tmp_path / "feedback_form.docx")
    [pdf] = convert_to_pdf([Path(docx)])
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert result["header"]["title"] in squeeze(text)
    assert "81.47" in text


# ---- the real jdz-zwsjj 2023 result, evaluated from the demo data (conftest.seed_evaluation) ----


@pytest.fixture(scope="session")
def real_form(seed_evaluation, tmp_path_factory):
    real = seed_evaluation
    assert real["status"] == "evaluated", real.get("blocked_reasons")
    folder = tmp_path_factory.mktemp("real")
    chart = render_chart(real)
    # No evidence sheets: the demo's 1.7 million evidence rows would only slow this test down.
    return (
        real,
        render_docx(real, folder / "feedback_form.docx", chart=chart),
        render_xlsx(real, None, folder / "feedback_form.xlsx", chart=chart),
    )


def test_real_form_prints_every_seed_figure(real_form):
    _, docx, _ = real_form
    text = squeeze("".join(docx_lines(docx)))
    missing = [f for f in SEED_FIGURES if f not in text]
    assert not missing, missing


def test_real_form_matches_the_seed_layout_and_text(real_form):
    _, docx, _ = real_form
    text = squeeze("".join(docx_lines(docx)))
    assert_in_order(text, seed_headings())
    ratio = difflib.SequenceMatcher(None, text, seed_text(), autojunk=False).ratio()
    assert ratio >= 0.75, ratio


def test_real_workbook_totals(real_form):
    real, _, xlsx = real_form
    rows = list(openpyxl.load_workbook(xlsx)["评分表"].iter_rows(min_row=3, values_only=True))
    total = next(r for r in rows if r[2] == "合计")
    assert (total[8], next(r for r in rows if r[2] == "评价结论")[8]) == (real["total_score"], real["grade"])
