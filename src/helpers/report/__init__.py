"""What the report notebooks call: open a report, show board tables and text, record figures.

Usage example (the first cells of every report notebook)::

    from helpers.report import open_report, show_markdown, show_table
    from helpers.report.provider_shortfall import trust_table

    report = open_report("provider_shortfall", "2010-11-M10", "RF4", threshold_pct=1.0)
    show_markdown(report.title_markdown())
    show_markdown(report.summary_markdown())
    show_table(trust_table(report))
    report.record_figures()
    show_markdown(report.notes_markdown())

The package: :mod:`~helpers.report.display` (board text and tables), :mod:`~.family` (what a
family is), :mod:`~.base` (the Report), :mod:`~.opening` (checking parameters and loading the
period), one module per family (its notebook's tables, figures and words) and
:mod:`~.registry` (every family).
"""

from __future__ import annotations

from helpers.report.base import Report
from helpers.report.display import Table, board_table, show_markdown, show_table
from helpers.report.opening import open_report

__all__ = ["Report", "Table", "board_table", "open_report", "show_markdown", "show_table"]
