"""Reports from result.json: the Word feedback form, the scoring workbook with evidence, the score
chart and the province summary. No Dagster here; orchestration/report_assets.py calls stage.py."""

from perfeval_pipeline.render.chart import render_chart
from perfeval_pipeline.render.docx_form import render_docx
from perfeval_pipeline.render.summary import render_summary
from perfeval_pipeline.render.xlsx_form import render_xlsx

__all__ = ["render_chart", "render_docx", "render_summary", "render_xlsx"]
