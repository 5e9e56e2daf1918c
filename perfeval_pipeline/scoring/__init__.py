"""Scoring: the framework's generic rules turn indicator values into points, with the reason for
every deduction; subtotals per level, total, grade, and peer-group targets."""
