"""Reports from result.json: the Word feedback form, the scoring workbook (its evidence stays in the
store; a 溯源 sheet gives the trace command per figure), the score chart and the province summary,
with Chinese reasons for departments not evaluated (reasons.py). No Dagster here: the batch engine
and the Dagster assets call stage.py."""

from perfeval_pipeline.render.chart import render_chart
from perfeval_pipeline.render.docx_form import render_docx
from perfeval_pipeline.render.summary import render_summary
from perfeval_pipeline.render.xlsx_form import render_xlsx

__all__ = ["render_chart", "render_docx", "render_summary", "render_xlsx"]
