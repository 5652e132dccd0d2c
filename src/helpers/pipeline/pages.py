"""The period's index page and the all-periods page: every report, linked, with its figures.

>>> period_index(plan, names, failed=set(), figs=figures_frame)   # outputs/<period>/index.html
>>> write_outputs_index(OUTPUTS_DIR)                              # outputs/index.html

Both pages are byte-stable (no timestamps, fixed number formats, stable order), escape every
name from the data, and read without JavaScript or a network.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from helpers import formats
from helpers.data.periods import Period
from helpers.files import write_atomic
from helpers.pipeline.plan import Job, Plan, is_up_to_date
from helpers.report.registry import FAMILIES

_STYLE = """
body { font-family: Arial, Helvetica, sans-serif; margin: 1.5em; color: #212b32; }
table { border-collapse: collapse; margin-bottom: 2em; width: 100%; }
caption { text-align: left; font-weight: bold; padding: 0.4em 0; }
th, td { border: 1px solid #aeb7bd; padding: 0.3em 0.6em; text-align: left;
         vertical-align: top; }
thead th { background: #005eb8; color: #fff; }
ul { margin: 0; padding-left: 1.2em; }
.failed { color: #d5281b; font-weight: bold; }
a { color: #005eb8; }
@media print { a { color: inherit; text-decoration: none; } thead { display: table-header-group; }
  tr { page-break-inside: avoid; } }
"""


def _page(title: str, body: str) -> str:
    e = html.escape
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<main>\n<h1>{e(title)}</h1>\n{body}</main>\n</body>\n</html>\n"
    )


def _figure_text(name: str, value: float, unit: str) -> str:
    label = name.removesuffix("_gbp_m").removesuffix("_pct").removesuffix("_count")
    label = label.replace("_", " ")
    if unit == "gbp_m":
        shown = f"{formats.money_cell(value)} (£m)"
    elif unit == "pct":
        shown = formats.pct(value)
    elif unit == "flag":
        shown = "yes" if value else "no"
    else:
        shown = str(round(value))
    return f"{label}: {shown}"


def _report_row(job: Job, name: str, status: str, figs: pd.DataFrame) -> str:
    e = html.escape
    links = []
    if job.html.is_file():
        links.append(f'<a href="{e(job.family)}/{e(job.html.name)}">report</a>')
    if job.ipynb.is_file():
        links.append(f'<a href="{e(job.family)}/{e(job.ipynb.name)}">notebook</a>')
    if status == "failed":
        note = "failed in the last run" + (" (the report shown is out of date)" if links else "")
        links.insert(0, f'<span class="failed">{e(note)}</span>')
        if job.failed.is_file():
            links.append(f'<a href="{e(job.family)}/{e(job.failed.name)}">failed notebook</a>')
    elif status == "stale":
        links.insert(0, '<span class="failed">not up to date</span>')
    items = "".join(
        f"<li>{e(_figure_text(str(n), float(v), str(u)))}</li>"
        for n, v, u in zip(figs["figure"], figs["value"], figs["unit"], strict=True)
    )
    return (
        f'<tr><th scope="row">{e(name)}</th><td>{e(job.org_code)}</td>'
        f"<td>{' · '.join(links)}</td><td><ul>{items}</ul></td></tr>\n"
    )


def period_index(plan: Plan, names: Mapping[str, str], failed: set[str], figs: pd.DataFrame) -> str:
    """The period's index.html: every report, linked, with its headline figures."""
    e = html.escape
    period = plan.params.period
    good = {j.name for j in plan.jobs if is_up_to_date(j)}
    label = period.label[:1].upper() + period.label[1:]  # "Quarter 1 2011-12 (to June 2011)"
    body = [
        f"<p>{e(label)}. Organisation-level numbers in the sample data are "
        "illustrative; regional totals reproduce NHS London's published figures.</p>\n"
        '<p><a href="../index.html">All periods</a> · <a href="figures.csv">Headline figures '
        '(CSV)</a> · <a href="manifest.json">Run manifest (JSON)</a></p>\n'
    ]
    for family in plan.params.families:
        jobs = [j for j in plan.jobs if j.family == family]
        title = FAMILIES[family].title if family in FAMILIES else family
        rows = []
        for job in jobs:
            status = "ok" if job.name in good else "failed" if job.name in failed else "stale"
            mine = figs.loc[(figs["notebook"] == family) & (figs["org_code"] == job.org_code)]
            rows.append(_report_row(job, names.get(job.org_code, job.org_code), status, mine))
        body.append(
            f"<h2>{e(title)}</h2>\n<table>\n<caption>{e(title)} ({e(family)}), {e(str(period))}: "
            f"{len(jobs)} report{'s' if len(jobs) != 1 else ''}</caption>\n"
            '<thead><tr><th scope="col">Organisation</th><th scope="col">Code</th>'
            '<th scope="col">Report</th><th scope="col">Headline figures</th></tr></thead>\n'
            f"<tbody>\n{''.join(rows)}</tbody>\n</table>\n"
        )
    return _page(f"NHS London finance reports, {period}", "".join(body))


def write_outputs_index(outputs_dir: Path) -> bool:
    """outputs/index.html: a link to every period's index page, in time order."""
    e = html.escape
    periods = []
    for child in outputs_dir.iterdir() if outputs_dir.is_dir() else []:
        if (child / "index.html").is_file():
            try:
                periods.append(Period.parse(child.name))
            except ValueError:
                continue
    items = "".join(
        f'<li><a href="{e(str(p))}/index.html">{e(str(p))}</a>: {e(p.label)}</li>\n'
        for p in sorted(periods)
    )
    body = (
        "<p>Reports on London's NHS trusts and PCTs, one page per period.</p>\n"
        f"<ul>\n{items}</ul>\n"
        if items
        else "<p>No reports yet: run <code>make reports</code>.</p>\n"
    )
    return write_atomic(
        outputs_dir / "index.html",
        _page("NHS London finance reports", body),
        only_if_changed=True,
    )
