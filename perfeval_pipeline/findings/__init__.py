"""Findings: config templates (assets_config/findings.yaml) turn indicator values, scores and
workpaper records into the form's narrative, 存在问题 and 相关建议, each citing its figures."""
