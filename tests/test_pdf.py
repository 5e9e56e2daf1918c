"""The reports as printed: each workbook and the Word form converted to PDF by LibreOffice headless
(render/pdf.py, fonts.conf, a private profile in tmp), then read back with poppler.

Checked per workbook: the pages each sheet prints (every page's header names its sheet), that no
column is cut (each sheet's rightmost header is printed on its first page; nothing lies outside the
page), that no text is cut or overprinted (no two text lines of a page overlap: a row too short for
its wrapped text spills onto the next; every long text prints to its last character), and that
LibreOffice prints every figure as the form does.

Departments: the hand-made hm-whlyj 2023, a hostile-corpus department and a blocked copy of it
(its transactions feed deleted), evaluated together so the year's summary covers both kinds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
import yaml
from conftest import evaluate, make_settings, result_of
from hostile.corpus import YEAR, department, write_base

from perfeval_pipeline.render.pdf import convert_to_pdf, soffice

HANDMADE = Path(__file__).parent / "fixtures" / "handmade"
HM, HX, BLOCKED = "hm-whlyj", "hx-pdf", "hx-pdf-blocked"
# Pages each sheet may print (A4, fitted to the page width).
SHEET_PAGES = {"评分表": 3, "统计指标": 1, "图表": 1, "历年得分": 1, "溯源": 1, "汇总": 1, "等级分布": 1}
FORM_PAGES = 6  # the Word form: the form table, then the appendix (chart and score table)
HEADER_PT = 45  # the page header (the sheet's name) prints above this line; the sheet below it
OVERLAP_PT = 1.0


def _calc_installed() -> bool:
    exe = soffice()
    return exe is not None and any(Path(exe).resolve().parent.glob("libsclo*"))


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("pdfinfo", "pdftotext")) or soffice() is None,
        reason="LibreOffice (soffice) or poppler-utils (pdfinfo, pdftotext) not installed",
    ),
    pytest.mark.skipif(
        soffice() is not None and not _calc_installed(),
        reason="LibreOffice Calc not installed (apt-get install libreoffice-calc-nogui): workbooks cannot print",
    ),
]


@dataclass
class Line:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    block: int


@dataclass
class Page:
    width: float
    height: float
    lines: list[Line]

    def text(self) -> str:
        return "".join(line.text for line in self.lines if line.y0 >= HEADER_PT)

    def header(self) -> str:
        return "".join(line.text for line in self.lines if line.y1 <= HEADER_PT)


def read_pdf(path: Path) -> list[Page]:
    """Every page's text lines with their boxes (pdftotext -bbox-layout), in reading order."""
    out = subprocess.run(
        ["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    pages = []
    block_no = 0
    for page in ET.fromstring(out).iterfind(".//h:page", ns):
        lines = []
        for block in page.iterfind(".//h:block", ns):
            block_no += 1
            for line in block.iterfind("h:line", ns):
                words = "".join(w.text or "" for w in line.iterfind("h:word", ns))
                box = [float(line.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")]
                lines.append(Line(*box, words, block_no))
        pages.append(Page(float(page.get("width")), float(page.get("height")), lines))
    return pages


def page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def sheet_pages(pages: list[Page], sheetnames: list[str]) -> dict[str, list[Page]]:
    """Pages by the sheet named in their header, checking the sheets print in workbook order."""
    out: dict[str, list[Page]] = {}
    for i, page in enumerate(pages):
        name = page.header().strip()
        assert name in sheetnames, f"page {i + 1}: header {name!r} names no sheet"
        out.setdefault(name, []).append(page)
    assert list(out) == sheetnames
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The three partitions evaluated (under umask 022), and their reports."""
    root = tmp_path_factory.mktemp("pdf")
    departments = yaml.safe_load((HANDMADE / "department.yaml").read_text(encoding="utf-8"))
    departments |= {HX: department(HX), BLOCKED: department(BLOCKED)}
    settings = make_settings(root, departments)
    shutil.copytree(HANDMADE / "landing", settings.landing_dir)
    for code in (HX, BLOCKED):
        folder = settings.landing_folder(code, YEAR)
        folder.mkdir(parents=True, exist_ok=True)
        write_base(folder, settings, code)
    for path in settings.landing_folder(BLOCKED, YEAR).glob("transactions*"):
        path.unlink()
    old = os.umask(0o022)
    try:
        evaluate(settings, [(HM, YEAR), (HX, YEAR), (BLOCKED, YEAR)])
    finally:
        os.umask(old)
    assert [result_of(settings, d, YEAR)["status"] for d in (HM, HX, BLOCKED)] == [
        "evaluated",
        "evaluated",
        "blocked",
    ]
    return settings


@pytest.fixture(scope="module")
def pdfs(reports, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """name → (source, PDF): every file converted in one LibreOffice run (distinct names)."""
    tmp = tmp_path_factory.mktemp("convert")
    year = reports.reports_dir / str(YEAR)
    sources = {
        f"{HM}.xlsx": year / HM / "feedback_form.xlsx",
        f"{HX}.xlsx": year / HX / "feedback_form.xlsx",
        "summary.xlsx": year / "summary.xlsx",
        f"{HM}-form.docx": year / HM / "feedback_form.docx",
    }
    (tmp / "in").mkdir()
    copies = [Path(shutil.copy(src, tmp / "in" / name)) for name, src in sources.items()]
    old = os.umask(0o022)
    try:
        out = convert_to_pdf(copies, outdir=tmp / "out", profile=tmp / "profile")
    finally:
        os.umask(old)
    return {name: (src, pdf) for (name, src), pdf in zip(sources.items(), out, strict=True)}


WORKBOOKS = [f"{HM}.xlsx", f"{HX}.xlsx", "summary.xlsx"]


@pytest.mark.parametrize("name", WORKBOOKS)
def test_each_sheet_prints_within_its_page_bound(pdfs, name):
    source, pdf = pdfs[name]
    wb = openpyxl.load_workbook(source)
    pages = read_pdf(pdf)
    assert len(pages) == page_count(pdf)
    by_sheet = sheet_pages(pages, wb.sheetnames)
    for sheet, printed in by_sheet.items():
        assert len(printed) <= SHEET_PAGES[sheet], f"{sheet} prints on {len(printed)} pages"
        assert all(p.width > p.height for p in printed) == (wb[sheet].page_setup.orientation == "landscape")


def _last_header(ws) -> str:
    """The rightmost header of a table sheet (its last repeated title row)."""
    row = int(ws.print_title_rows.split(":")[-1].lstrip("$"))
    return [c.value for c in ws[row] if c.value][-1]


@pytest.mark.parametrize("name", WORKBOOKS)
def test_no_column_is_cut(pdfs, name):
    source, pdf = pdfs[name]
    wb = openpyxl.load_workbook(source)
    by_sheet = sheet_pages(read_pdf(pdf), wb.sheetnames)
    for sheet, printed in by_sheet.items():
        ws = wb[sheet]
        if ws.print_title_rows:
            # The whole header row on the first page, the rightmost column included, on every page.
            row = int(ws.print_title_rows.split(":")[-1].lstrip("$"))
            headers = [squeeze(str(c.value)) for c in ws[row] if c.value]
            for page in printed:
                text = squeeze(page.text())
                assert all(h in text for h in headers), (sheet, [h for h in headers if h not in text])
            assert _last_header(ws) in squeeze(printed[0].text())
        for page in printed:
            outside = [
                ln.text
                for ln in page.lines
                if ln.x0 < 0 or ln.y0 < 0 or ln.x1 > page.width or ln.y1 > page.height
            ]
            assert not outside, (sheet, outside)


@pytest.mark.parametrize("name", WORKBOOKS)
def test_no_text_is_cut_or_overprinted(pdfs, name):
    _, pdf = pdfs[name]
    for number, page in enumerate(read_pdf(pdf), start=1):
        lines = page.lines
        clashes = [
            (a.text, b.text)
            for i, a in enumerate(lines)
            for b in lines[i + 1 :]
            if min(a.x1, b.x1) - max(a.x0, b.x0) > OVERLAP_PT
            and min(a.y1, b.y1) - max(a.y0, b.y0) > OVERLAP_PT
        ]
        assert not clashes, f"page {number}: {clashes[:5]}"


def raw_text(path: Path) -> str:
    """The PDF's text in drawing order (pdftotext -raw): a cell's wrapped lines stay together."""
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True)
    return squeeze(out.stdout)


@pytest.mark.parametrize("code", [HM, HX])
def test_long_texts_print_whole(reports, pdfs, code):
    """Names, deduction reasons, rules and target sources wrap inside their cells and print to the
    last character (a cell that is too narrow or a row too short would cut them)."""
    result = result_of(reports, code, YEAR)
    text = raw_text(pdfs[f"{code}.xlsx"][1])
    fields = ("name", "deduction_reason", "rule_text", "target_source", "reason")
    cut = [
        (i["id"], k) for i in result["indicators"] for k in fields if i.get(k) and squeeze(i[k]) not in text
    ]
    assert not cut


def test_summary_reasons_print_whole(pdfs):
    source, pdf = pdfs["summary.xlsx"]
    ws = openpyxl.load_workbook(source)["汇总"]
    col = [c.value for c in ws[2]].index("说明")
    reasons = [r[col] for r in ws.iter_rows(min_row=3, values_only=True) if r[col]]
    assert reasons
    text = raw_text(pdf)
    assert all(squeeze(r) in text for r in reasons)


@pytest.mark.parametrize("code", [HM, HX])
def test_the_printed_workbook_shows_the_forms_figures(reports, pdfs, code):
    result = result_of(reports, code, YEAR)
    source, pdf = pdfs[f"{code}.xlsx"]
    by_sheet = sheet_pages(read_pdf(pdf), openpyxl.load_workbook(source).sheetnames)
    score_text = squeeze("".join(p.text() for p in by_sheet["评分表"]))
    stat_text = squeeze("".join(p.text() for p in by_sheet["统计指标"]))
    for ind in result["indicators"]:
        text = stat_text if ind["statistic"] else score_text
        assert squeeze(ind["display"]) in text, (ind["id"], ind["display"])
    assert f"{result['total_score']:.2f}" in score_text
    charts = squeeze("".join(p.text() for p in by_sheet["图表"]))
    assert "一级指标得分" in charts and "主要扣分指标" in charts  # the native charts were drawn


def test_the_printed_summary_explains_the_blocked_department(reports, pdfs):
    source, pdf = pdfs["summary.xlsx"]
    by_sheet = sheet_pages(read_pdf(pdf), openpyxl.load_workbook(source).sheetnames)
    text = squeeze("".join(p.text() for p in by_sheet["汇总"]))
    for code in (HM, HX, BLOCKED):
        assert squeeze(result_of(reports, code, YEAR)["header"]["department_name"]) in text
    assert "数据不符合要求，未评价" in text and "缺少数据文件“交易与采购”" in text
    assert f"{YEAR}年评价结论分布" in squeeze("".join(p.text() for p in by_sheet["等级分布"]))


def test_the_printed_form(reports, pdfs):
    result = result_of(reports, HM, YEAR)
    _, pdf = pdfs[f"{HM}-form.docx"]
    pages = read_pdf(pdf)
    assert 2 <= len(pages) <= FORM_PAGES
    text = squeeze("".join(ln.text for p in pages for ln in p.lines))
    assert squeeze(result["header"]["title"]) in text
    assert f"{result['total_score']:.2f}" in text and result["grade"] in text
    for page in pages:
        assert all(0 <= ln.x0 and ln.x1 <= page.width for ln in page.lines)


def test_pdfs_are_readable_by_the_group(pdfs):
    modes = {pdf.name: oct(pdf.stat().st_mode & 0o777) for _, pdf in pdfs.values()}
    assert set(modes.values()) == {"0o644"}, modes
    assert sorted(modes) == sorted([f"{HM}-form.pdf", f"{HM}.xlsx.pdf", f"{HX}.xlsx.pdf", "summary.xlsx.pdf"])
