"""Write the four report notebooks in notebooks/ from the cell lists below (no outputs).

Usage::

    .venv/bin/python scripts/build_notebooks.py           # (re)write notebooks/*.ipynb
    .venv/bin/python scripts/build_notebooks.py --check   # exit 1 if a notebook differs

The notebooks only call the helper package (``helpers.report``, ``helpers.charts``,
``helpers.metrics``) and tell the story in Markdown; edit this file, not the notebooks, and
rerun it. Cell ids are fixed and nothing is random, so running it twice gives identical files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import nbformat

from helpers.kernelspec import DISPLAY_NAME, KERNEL_NAME
from helpers.report import THRESHOLD_FAMILIES

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
KERNELSPEC = {"name": KERNEL_NAME, "display_name": DISPLAY_NAME, "language": "python"}
ORG_HELP = {
    "regional_outturn": "NHS London (Q36) or a PCT cluster (NCL, INEL, ONEL, NWL, SEL, SWL)",
    "provider_shortfall": "NHS London (Q36: all NHS trusts) or one NHS trust, e.g. RF4",
    "pct_support_needs": "NHS London (Q36: all PCTs) or one PCT or care trust, e.g. 5NC",
    "cluster_milestone_slippage": "NHS London (Q36) or a PCT cluster (NCL, INEL, ...)",
}
Cell = tuple[str, str, str]  # (kind "md" or "code", cell id, source)


def parameters_source(family: str) -> str:
    """The cell tagged ``parameters``: defaults that run (papermill injects new values after)."""
    lines = [
        "# Parameters: papermill injects new values in a cell after this one.",
        'period: str = "2011-12-Q1"  # reporting period: YYYY-YY-MNN or YYYY-YY-QN',
        f'org_code: str = "Q36"  # {ORG_HELP[family]}',
    ]
    if family in THRESHOLD_FAMILIES:
        lines.append(
            "threshold_pct: float = 1.0  # significantly behind plan: adverse variance over this % "
            "of turnover"
        )
    lines.append('returns_dir: str = ""  # folder holding period folders; empty for data/raw')
    return "\n".join(lines)


def setup_source(family: str, names: list[str]) -> str:
    """Imports, then ``open_report``: checks the parameters and loads the period's returns."""
    imported = ",\n".join(f"    {n}" for n in sorted({"open_report", "show_markdown", *names}))
    option = ", threshold_pct=threshold_pct" if family in THRESHOLD_FAMILIES else ""
    return (
        "from helpers import charts, metrics\n"
        f"from helpers.report import (\n{imported},\n)\n\n"
        f"report = open_report(\n"
        f'    "{family}", period, org_code{option}, returns_dir=returns_dir\n'
        ")"
    )


HEAD: list[Cell] = [
    ("code", "title", "show_markdown(report.title_markdown())"),
    ("md", "summary-heading", "## Summary"),
    ("code", "summary", "show_markdown(report.summary_markdown())"),
]
TAIL: list[Cell] = [
    (
        "md",
        "figures-heading",
        "## Headline figures\n\nThe figures this report publishes, recorded for the kit's "
        "figures table (`outputs/<period>/figures.csv`) and checked by the tests.",
    ),
    ("code", "figures", "report.record_figures()"),
    ("code", "notes", "show_markdown(report.notes_markdown())"),
]

FAMILIES: dict[str, tuple[list[str], list[Cell]]] = {
    "regional_outturn": (
        [
            *("bridge", "bridge_table", "outturn_table", "savings_table", "show_table"),
            *("trajectory", "trajectory_table"),
        ],
        [
            (
                "md",
                "outturn-heading",
                "## Forecast outturn against plan\n\nYear to date, full-year forecast and "
                "prior-year outturn for NHS trusts, PCTs and the SHA's own budgets (for a "
                "cluster: its PCTs). Deficits and adverse variances are in brackets.",
            ),
            ("code", "outturn", "show_table(outturn_table(report))"),
            (
                "md",
                "bridge-heading",
                "## From plan to forecast\n\nHow each group's variance to plan moves the "
                "total from its plan to its forecast outturn.",
            ),
            (
                "code",
                "bridge",
                "charts.show(charts.bridge_chart(bridge(report)))\n"
                "show_table(bridge_table(report))",
            ),
            (
                "md",
                "trajectory-heading",
                "## Monthly trajectory of the forecast outturn\n\nThe forecast outturn "
                "reported each month of the year to date, against the full-year plan.",
            ),
            (
                "code",
                "trajectory",
                "charts.show(charts.trajectory_chart(trajectory(report)))\n"
                "show_table(trajectory_table(report))",
            ),
            (
                "md",
                "savings-heading",
                "## Savings against plan\n\nCIP for NHS trusts as a share of turnover; QIPP "
                "for PCTs as a share of their resources.",
            ),
            ("code", "savings", "show_table(savings_table(report))"),
        ],
    ),
    "provider_shortfall": (
        [
            *("behind_plan_table", "cip_category_table", "drivers", "drivers_table"),
            *("show_table", "trust_table"),
        ],
        [
            (
                "md",
                "ranking-heading",
                "## Variance to plan by NHS trust\n\nForecast variance to plan as a share of "
                "turnover, worst first. Red bars are trusts significantly behind plan; the "
                "dashed line is the threshold; a trust's own report outlines its bar.",
            ),
            (
                "code",
                "ranking",
                "shortfall = metrics.trust_shortfall(report.data, report.threshold_pct)\n"
                "charts.show(\n"
                "    charts.variance_ranking_chart(shortfall, report.threshold_pct, "
                "highlight=report.org_code)\n"
                ")\n"
                "show_table(trust_table(report))",
            ),
            ("md", "behind-heading", "## Trusts significantly behind plan"),
            ("code", "behind", "show_table(behind_plan_table(report))"),
            (
                "md",
                "drivers-heading",
                "## Drivers of the variance\n\nCIP slippage, activity above plan, premium "
                "costs of unplanned activity, restructuring and other items, as the trusts "
                "explain their variance (adverse negative).",
            ),
            (
                "code",
                "drivers",
                "charts.show(charts.drivers_chart(drivers(report), report.chart_label))\n"
                "show_table(drivers_table(report))",
            ),
            ("md", "cip-heading", "## CIP savings by workstream category"),
            ("code", "cip", "show_table(cip_category_table(report))"),
        ],
    ),
    "pct_support_needs": (
        ["break_even_table", "pct_table", "qipp_category_table", "show_table"],
        [
            (
                "md",
                "break-even-heading",
                "## Break-even with and without support\n\nFrom the forecast outturn to the "
                "position before London Challenged Trust Board (LCTB) support and the "
                "underlying position without other non-recurrent measures.",
            ),
            ("code", "break-even", "show_table(break_even_table(report))"),
            (
                "md",
                "support-heading",
                "## Which PCTs need support\n\nForecast outturn before LCTB support by PCT; "
                "red bars cannot break even without support; a PCT's own report outlines "
                "its bar.",
            ),
            (
                "code",
                "support",
                "support = metrics.pct_support(report.data)\n"
                "charts.show(charts.support_chart(support, highlight=report.org_code))\n"
                "show_table(pct_table(report, only_needing_support=True))",
            ),
            ("md", "all-pcts-heading", "## All PCTs"),
            ("code", "all-pcts", "show_table(pct_table(report))"),
            ("md", "qipp-heading", "## QIPP savings by workstream category"),
            ("code", "qipp", "show_table(qipp_category_table(report))"),
        ],
    ),
    "cluster_milestone_slippage": (
        [
            *("category_milestone_table", "cluster_table", "delays_markdown", "delays_table"),
            *("member_qipp_table", "milestone_counts", "milestone_table", "show_table"),
        ],
        [
            (
                "md",
                "clusters-heading",
                "## QIPP savings by cluster\n\nSavings delivered to date against the "
                "year-to-date plan, and the forecast for the year, for every cluster.",
            ),
            (
                "code",
                "clusters",
                "charts.show(charts.cluster_savings_chart(metrics.cluster_savings(report.data)))"
                "\nshow_table(cluster_table(report))",
            ),
            ("md", "pcts-heading", "## QIPP savings by PCT"),
            ("code", "pcts", "show_table(member_qipp_table(report))"),
            (
                "md",
                "milestones-heading",
                "## Milestones due, met and missed\n\nLocal QIPP programme milestones due by "
                "the end of the period (met or missed) and those due later, by cluster.",
            ),
            (
                "code",
                "milestones",
                "charts.show(charts.milestone_chart(milestone_counts(report)))\n"
                "show_table(milestone_table(report))",
            ),
            ("md", "categories-heading", "## Milestones by workstream category"),
            ("code", "categories", "show_table(category_milestone_table(report))"),
            ("md", "delays-heading", "## Delays and their reasons"),
            (
                "code",
                "delays",
                "show_markdown(delays_markdown(report))\nshow_table(delays_table(report))",
            ),
        ],
    ),
}


def cell(kind: str, cell_id: str, source: str, tags: tuple[str, ...] = ()) -> dict[str, Any]:
    """One notebook cell (nbformat 4.5) with a fixed id and, for code, no outputs."""
    node: dict[str, Any] = {
        "cell_type": "markdown" if kind == "md" else "code",
        "id": cell_id,
        "metadata": {"tags": list(tags)} if tags else {},
        "source": source,
    }
    if kind != "md":
        node.update(execution_count=None, outputs=[])
    return node


def build(family: str) -> dict[str, Any]:
    """The family's notebook: parameters, setup, title and summary, sections, figures, notes."""
    names, body = FAMILIES[family]
    cells = [
        cell("code", "parameters", parameters_source(family), tags=("parameters",)),
        cell("code", "setup", setup_source(family, names)),
        *(cell(kind, cell_id, source) for kind, cell_id, source in [*HEAD, *body, *TAIL]),
    ]
    return {
        "cells": cells,
        "metadata": {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(family: str) -> str:
    """The notebook file's text, exactly as written to disk (validated against the schema)."""
    nb = nbformat.from_dict(build(family))  # type: ignore[no-untyped-call]
    nbformat.validate(nb)
    text: str = nbformat.writes(nb)  # type: ignore[no-untyped-call]
    return text + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) every report notebook; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a notebook differs")
    args = parser.parse_args(argv)
    stale = []
    for family in FAMILIES:
        path = NOTEBOOKS_DIR / f"{family}.ipynb"
        text = render(family)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(NOTEBOOKS_DIR.parent)}")
    if stale:
        print(f"out of date: {', '.join(stale)} (run scripts/build_notebooks.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
