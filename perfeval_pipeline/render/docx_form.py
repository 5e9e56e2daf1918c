"""The Word feedback form (财政支出绩效评价结果反馈表), laid out as the real form: a title, then one
bordered table holding the header fields, 基本情况, 主要绩效情况 and 主要问题与建议; an appendix
with the score chart and a compact score table. Every figure is read from result.json."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from perfeval_pipeline.formatting import decimal
from perfeval_pipeline.render.chart import render_chart
from perfeval_pipeline.render.package import clean_text, document_time, write_package

WESTERN = "Times New Roman"
PAGE_CM = (21.0, 29.7)  # A4
MARGIN_CM = (2.5, 2.2)  # top/bottom, left/right
TEXT_WIDTH_CM = PAGE_CM[0] - 2 * MARGIN_CM[1]
FORM_COLUMNS_CM = (3.3, 5.0, 3.3, 5.0)
SCORE_COLUMNS_CM = (3.0, 4.6, 3.0, 3.0, 3.0)


@dataclass(frozen=True)
class Face:
    font: str
    size: float
    bold: bool = False


TITLE = Face("宋体", 18, bold=True)
LABEL = Face("黑体", 13)
FIELD = Face("仿宋", 13)
BODY = Face("仿宋", 14)
HEADING = Face("黑体", 14, bold=True)
GROUP = Face("仿宋", 14, bold=True)
SMALL = Face("仿宋", 11)
SMALL_HEAD = Face("黑体", 11)
# Exact line pitch: CJK fallback fonts carry tall ascenders that inflate "single" spacing.
LINE_FACTOR = 1.6


def _style_run(run, face: Face) -> None:
    run.font.name = WESTERN
    run.font.size = Pt(face.size)
    run.font.bold = face.bold
    # python-docx sets only ascii/hAnsi; Chinese text takes the eastAsia font.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), face.font)


def _paragraph(
    container,
    text: str,
    face: Face,
    align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    indent: bool = True,
    space_before: float = 0,
):
    """A paragraph in a document or cell; a cell's first, still empty paragraph is reused."""
    paras = getattr(container, "paragraphs", [])
    reuse = hasattr(container, "merge") and len(paras) == 1 and not paras[0].text and not paras[0].runs
    p = paras[0] if reuse else container.add_paragraph()
    fmt = p.paragraph_format
    fmt.alignment = align
    fmt.space_before, fmt.space_after = Pt(space_before), Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(face.size * LINE_FACTOR)
    if indent:
        fmt.first_line_indent = Pt(2 * face.size)
    _style_run(p.add_run(clean_text(text)), face)
    return p


def _label(cell, text: str, face: Face = LABEL) -> None:
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    _paragraph(cell, text, face, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)


def _table(doc, widths_cm: tuple[float, ...]):
    table = doc.add_table(rows=0, cols=len(widths_cm))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    # LibreOffice lays out by the grid, Word by cell widths: set both.
    for col, width in zip(table.columns, widths_cm, strict=True):
        col.width = Cm(width)
    return table


def _row(table, widths_cm: tuple[float, ...], min_height_cm: float | None = None):
    row = table.add_row()
    for cell, width in zip(row.cells, widths_cm, strict=True):
        cell.width = Cm(width)
    if min_height_cm:
        row.height = Cm(min_height_cm)
    return row.cells


def _page_setup(doc) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
    section.top_margin = section.bottom_margin = Cm(MARGIN_CM[0])
    section.left_margin = section.right_margin = Cm(MARGIN_CM[1])
    normal = doc.styles["Normal"]
    normal.font.name = WESTERN
    normal.font.size = Pt(BODY.size)
    rpr = normal.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), BODY.font)
    # The language steers font fallback to Simplified-Chinese glyphs where 仿宋 etc. are missing.
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    footer._p.append(field)
    run = footer.add_run()
    _style_run(run, SMALL)
    field.append(run._r)


def _header_rows(table, result: dict) -> None:
    h = result["header"]
    pairs = [
        ("评价组织机构", h["organizer"], "评价部门", h["department_name"]),
        ("评价类型", h["evaluation_type"], "评价年度", h["year_text"]),
        ("评价机构", h["evaluator"], "评价时间", h["evaluation_period"]),
        ("评价分值", decimal(result["total_score"]), "评价结论", result["grade"]),
    ]
    for label1, value1, label2, value2 in pairs:
        cells = _row(table, FORM_COLUMNS_CM, min_height_cm=1.1)
        _label(cells[0], label1)
        _label(cells[1], value1 or "—", FIELD)
        _label(cells[2], label2)
        _label(cells[3], value2 or "—", FIELD)


def _problem_lines(result: dict) -> list[tuple[str, Face]]:
    lines: list[tuple[str, Face]] = [("一、存在问题", HEADING)]
    for group in result["problems"]:
        lines.append((f"{group['no']} {group['title']}", GROUP))
        lines += [(f"{item['no']} {item['text']}", BODY) for item in group["items"]]
    lines.append(("二、相关建议", HEADING))
    for rec in result["recommendations"]:
        lines += [(f"{rec['no']} {rec['title']}", GROUP), (rec["text"], BODY)]
    follow = result.get("rectification") or {}
    if follow.get("section"):
        lines.append(("三、上年评价问题整改情况", HEADING))
        if not follow.get("available"):
            lines.append((f"无上年评价结果可供对照：{follow.get('reason')}", BODY))
        for i, row in enumerate(r for r in follow.get("problems", []) if r["status"] != "new"):
            figures = "，".join(
                x
                for x in (
                    f"上年{row['previous_display']}" if row.get("previous_display") else "",
                    f"本年{row['current_display']}" if row.get("current_display") else "",
                )
                if x
            )
            lines.append(
                (
                    f"({i + 1}) {row['previous_item'].split(' ', 1)[-1]}：{row['status_text']}"
                    + (f"（{figures}）。" if figures else "。"),
                    BODY,
                )
            )
    return lines


def _section_row(table, label: str, lines: list[tuple[str, Face]]) -> None:
    cells = _row(table, FORM_COLUMNS_CM)
    _label(cells[0], label)
    body = cells[1].merge(cells[3])
    for text, face in lines:
        _paragraph(body, text, face)


def _score_table(doc, result: dict) -> None:
    table = _table(doc, SCORE_COLUMNS_CM)
    for cell, text in zip(
        _row(table, SCORE_COLUMNS_CM), ["一级指标", "二级指标", "分值", "得分", "扣分"], strict=True
    ):
        _label(cell, text, SMALL_HEAD)

    def numbers(cells, entry: dict) -> None:
        for cell, value in zip(
            cells, (entry["points"], entry["score"], entry["points"] - entry["score"]), strict=True
        ):
            _label(cell, decimal(value), SMALL)

    for level in result["levels"]:
        rows = [(e["name"], e, SMALL) for e in result["level2"] if e["level1"] == level["name"]]
        rows.append(("小计", level, SMALL_HEAD))
        first = last = None
        for name, entry, face in rows:
            cells = _row(table, SCORE_COLUMNS_CM)
            _label(cells[1], name, face)
            numbers(cells[2:], entry)
            first, last = first or cells[0], cells[0]
        _label(first.merge(last), level["name"], SMALL)
    total = {"points": result["max_points"], "score": result["total_score"]}
    cells = _row(table, SCORE_COLUMNS_CM)
    _label(cells[0].merge(cells[1]), "合计", SMALL_HEAD)
    numbers(cells[2:], total)
    cells = _row(table, SCORE_COLUMNS_CM)
    _label(cells[0].merge(cells[1]), "评价结论", SMALL_HEAD)
    _label(cells[2].merge(cells[4]), result["grade"], SMALL)


def _appendix(doc, result: dict, chart: bytes) -> None:
    doc.add_page_break()
    _paragraph(doc, "附：评分情况", HEADING, align=WD_ALIGN_PARAGRAPH.LEFT, indent=False)
    doc.add_picture(io.BytesIO(chart), width=Cm(TEXT_WIDTH_CM))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(doc, "图1 一级指标得分与主要扣分指标", SMALL, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(
        doc, "表1 指标得分汇总", SMALL, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, space_before=SMALL.size
    )
    _score_table(doc, result)


def _core_properties(doc, header: dict) -> None:
    props = doc.core_properties
    stamp = document_time(header)
    props.title = header["title"]
    props.subject = f"{header['department_name']}{header['year_text']}{header['evaluation_type']}绩效评价"
    props.author = header.get("evaluator") or ""
    props.last_modified_by = "perfeval"
    props.revision = 1
    props.created = props.modified = props.last_printed = stamp


def render_docx(result: dict, out_path: Path, *, chart: bytes | None = None, mode: int = 0o666) -> Path:
    """Write the feedback form of an evaluated result; `chart` is the PNG from render_chart
    (rendered here when not given)."""
    if result.get("status") != "evaluated":
        raise ValueError(
            f"{result.get('department')} {result.get('year')}: no form for a {result.get('status')!r} result"
        )
    doc = Document()
    _page_setup(doc)
    _paragraph(doc, result["header"]["title"], TITLE, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(doc, "", BODY, indent=False)
    table = _table(doc, FORM_COLUMNS_CM)
    _header_rows(table, result)
    narrative = result["narrative"]
    _section_row(table, "基本情况", [(narrative["basic_situation"], BODY)])
    _section_row(table, "主要绩效情况", [(p, BODY) for p in narrative["performance"]])
    # Broken where the real form breaks it: the label column is too narrow for seven characters.
    _section_row(table, "主要问题\n与建议", _problem_lines(result))
    _appendix(doc, result, chart if chart is not None else render_chart(result))
    _core_properties(doc, result["header"])
    buf = io.BytesIO()
    doc.save(buf)
    return write_package(buf.getvalue(), out_path, document_time(result["header"]), mode)
