"""Scoring: the framework's rules turn indicator values into points, with the reason for every
deduction in words; workpaper deductions; subtotals per level, total, grade; peer-group targets."""
