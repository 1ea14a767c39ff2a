"""Analysis of run directories: loading, metrics, charts and reports.

Metrics are pure functions of loaded run data; charts return matplotlib Figures; only
``analysis.report`` writes files.
"""
