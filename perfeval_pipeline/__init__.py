"""perfeval: department-wide fiscal expenditure performance evaluation as a Dagster pipeline.

Stages flow one way: feeds -> quality -> indicators -> scoring -> findings -> render;
lineage reads every stage; orchestration wires them to Dagster.
"""

__version__ = "0.1.0"
