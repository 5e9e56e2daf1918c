"""Indicators: the framework's measures computed from a partition's clean feed tables, each with
its numerator, denominator, per-unit breakdown and the source rows behind it."""
