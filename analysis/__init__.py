"""Analysis of run directories: loading, metrics, tidy frames, charts, reports, notebooks.

Metrics are pure functions of loaded run data; charts return matplotlib Figures; only
``analysis.report`` (a run's derived files) and the notebook runner write files. See
docs/analysis.md.
"""
