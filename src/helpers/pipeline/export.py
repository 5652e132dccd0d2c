"""What a period's run leaves for its readers: HTML reports, figures.csv, index pages, manifest.

Usage example (the runner does this after a period's jobs)::

    html = notebook_html(executed_nb, "Provider savings ...: Barts (RNJ), 2010-11-M10")
    problems = export_period(plan, failed={}, started=t0, finished=t1)  # [] when all written
    write_outputs_index(OUTPUTS_DIR)

figures.csv, board-tables.xlsx and both index pages are byte-stable (no timestamps, fixed
number formats, stable order) and are only rewritten when their content changes; every file is
written to a temporary name beside it and moved into place (:func:`helpers.files.write_atomic`),
so a reader never sees half a file, and a folder it may not write or a full disk is a
StorageError. A workbook that cannot be built is reported and never stops the period's pages.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import figures
from helpers.data.organisations import Reference, load_reference
from helpers.data.returns import WORKBOOK as RETURNS_WORKBOOK
from helpers.data.returns import period_files
from helpers.data.workbook import sheet_hashes
from helpers.errors import BoardOutputError
from helpers.files import storage_faults, write_atomic
from helpers.paths import ProjectPaths
from helpers.pipeline.board_workbook import WORKBOOK, board_workbook
from helpers.pipeline.changes import (
    RunChanges,
    changes_csv,
    compare_runs,
    history,
    previous_run,
    read_figures_text,
)
from helpers.pipeline.overview import build_overview
from helpers.pipeline.pages import period_page, write_outputs_index
from helpers.pipeline.params import PeriodParams
from helpers.pipeline.plan import (
    LOCK_FILE,
    Job,
    Plan,
    code_hash,
    file_sha256,
    is_up_to_date,
    read_stamp,
)
from helpers.report.registry import FAMILIES
from helpers.version import kit_version

VERSIONED = (
    "papermill",
    "pandas",
    "seaborn",
    "matplotlib",
    "nbconvert",
    "nbclient",
    "ipykernel",
)
#: A chart's image with its alt text, the first line of its text form (its title): the
#: report pages and the board pack's print bodies include it.
CHART_TEMPLATE = """{%- set described = output.data.get('text/plain', '') | string -%}
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
alt="{{ described.split('\\n')[0] | escape_html }}"
{%- set width=output | get_metadata('width', 'image/png') %}
{%- if width is not none %} width={{ width | escape_html }}{% endif %}
{%- set height=output | get_metadata('height', 'image/png') %}
{%- if height is not none %} height={{ height | escape_html }}{% endif %}>"""
# The lab template without its CDN scripts (require.js, MathJax, Mermaid): reports open offline.
# A header landmark links the period's overview; links and focus are visible at WCAG AA
# contrast (axe checks a report of each family in tests/test_browser.py).
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
.nhs-kit-header { padding: 0.5em 1em; background: #005EB8; }
.nhs-kit-header a { color: #FFFFFF; font-weight: bold; }
a { color: #005EB8; }
a:focus, [tabindex]:focus { outline: 3px solid #FFEB3B; box-shadow: 0 0 0 5px #212B32; }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<header class="nhs-kit-header">
<nav aria-label="Reports of this period"><a href="../index.html">The period's overview: \
every report</a></nav>
</header>
<main>
{%- endblock body_header -%}
{%- block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
{% include 'nhs_kit_chart.html.j2' %}
</div>
{%- endblock data_png -%}
"""


def now() -> str:
    """The current UTC time, ISO 8601 to the second (for manifests and stamps only)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# --- one report's HTML --------------------------------------------------------------------


def html_exporter(template_file: str, loaders: Sequence[Any] = (), **traits: Any) -> Any:
    """An nbconvert HTMLExporter of ``template_file`` that hides code and prompts and embeds
    images; its templates may include the kit's chart (``nhs_kit_chart.html.j2``)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter  # only when a report is exported (slow to import)

    kit = DictLoader({"nhs_kit.html.j2": _TEMPLATE, "nhs_kit_chart.html.j2": CHART_TEMPLATE})
    return HTMLExporter(  # type: ignore[no-untyped-call]
        extra_loaders=[kit, *loaders],
        template_file=template_file,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        **traits,
    )


@cache
def _exporter() -> Any:
    return html_exporter("nhs_kit.html.j2")


def notebook_html(nb: Any, title: str) -> str:
    """A board-ready HTML page of an executed notebook: code hidden, images embedded."""
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    return str(body)


# --- provenance -----------------------------------------------------------------------------


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape a report."""
    out: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(root: Path) -> dict[str, Any]:
    """The git commit of ``root`` and whether tracked files differ from it (None without git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=20, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def input_hashes(params: PeriodParams, dirs: ProjectPaths) -> dict[str, dict[str, str]]:
    """sha256 of everything a period's reports depend on, by group (what "what changed" names).

    The period's raw return files and, for a workbook, each of its sheets; the reference
    data; the notebooks; the params file; the helper code; the dependency lock.
    """
    folder = params.raw_dir / str(params.period)
    lock = dirs.root / LOCK_FILE
    return {
        "returns": {p.name: file_sha256(p) for p in period_files(folder)},
        "sheets": sheet_hashes(book) if (book := folder / RETURNS_WORKBOOK).is_file() else {},
        "reference": {p.name: file_sha256(p) for p in sorted(dirs.reference.glob("*.csv"))},
        "notebooks": {r.notebook.name: file_sha256(r.notebook) for r in params.families.values()},
        "params": {params.source.name: file_sha256(params.source)},
        "code": {"helpers": code_hash()},
        "lock": {LOCK_FILE: file_sha256(lock)} if lock.is_file() else {},
    }


def provenance(params: PeriodParams, dirs: ProjectPaths) -> dict[str, Any]:
    """What every report of the period records in its metadata (``metadata.nhs_kit``)."""
    inputs = input_hashes(params, dirs)
    return {
        "kit_version": kit_version(),
        "git": git_state(dirs.root),
        "versions": package_versions(),
        "inputs": {"returns": inputs["returns"], "reference": inputs["reference"]},
    }


# --- figures.csv ----------------------------------------------------------------------------


def good_jobs(plan: Plan) -> list[Job]:
    """Jobs whose outputs are up to date with this plan (a stale or failed report is not)."""
    return [j for j in plan.jobs if is_up_to_date(j)]


def collect_figures(jobs: list[Job]) -> pd.DataFrame:
    """Every recorded figure of the given reports, in figures.csv order."""
    frames = [figures.read_figures(j.ipynb) for j in jobs]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=figures.FIGURE_COLUMNS)
    return figures.sort_figures(pd.concat(frames, ignore_index=True))


def _value_text(value: float, unit: str) -> str:
    return str(round(value)) if unit in ("count", "flag") else f"{value:.4f}"


def figures_csv(frame: pd.DataFrame) -> str:
    """figures.csv text: fixed number formats (4 decimals; counts and flags as integers)."""
    out = frame.astype({"value": "object"}).copy()
    out["value"] = [
        _value_text(float(v), str(u)) for v, u in zip(frame["value"], frame["unit"], strict=True)
    ]
    return str(out.to_csv(index=False, lineterminator="\n"))


#: The columns of figure_definitions.csv, which joins figures.csv on (notebook, figure).
DEFINITION_COLUMNS = ["notebook", "figure", "label", "unit", "better", "definition"]


def definitions_csv(families: list[str]) -> str:
    """figure_definitions.csv text: the figure dictionary of ``families``, in a stable order."""
    rows = [
        [name, f.name, f.label, f.unit, f.better, f.definition]
        for name in sorted(families)
        for f in sorted(FAMILIES[name].dictionary, key=lambda f: f.name)
    ]
    frame = pd.DataFrame(rows, columns=DEFINITION_COLUMNS)
    return str(frame.to_csv(index=False, lineterminator="\n"))


# --- the manifest and the whole period ------------------------------------------------------


def manifest(
    plan: Plan, dirs: ProjectPaths, failed: set[str], started: str, finished: str
) -> dict[str, Any]:
    """The run manifest: parameters, status and times of every report, input hashes, versions."""
    good = {j.name for j in good_jobs(plan)}
    reports = []
    for job in plan.jobs:
        stamp = read_stamp(job.stamp) if job.name in good else {}
        status = "ok" if job.name in good else "failed" if job.name in failed else "not run"
        reports.append(
            {
                "family": job.family,
                "org_code": job.org_code,
                "parameters": job.parameters,
                "fingerprint": job.fingerprint,
                "status": status,
                "started": stamp.get("started"),
                "finished": stamp.get("finished"),
                "notebook": dirs.show(job.ipynb),
                "html": dirs.show(job.html),
            }
        )
    return {
        "period": plan.period,
        "kit_version": kit_version(),
        "params_file": dirs.show(plan.params.source),
        "run": {"started": started, "finished": finished},
        "git": git_state(dirs.root),
        "versions": package_versions(),
        "inputs": input_hashes(plan.params, dirs),
        "reports": reports,
    }


def exports_current(plan: Plan, dirs: ProjectPaths) -> bool:
    """Whether the period's pages already describe exactly these good reports (no rewrite)."""
    names = ("figures.csv", "figure_definitions.csv", "changes.csv", "index.html", WORKBOOK)
    pages = [plan.output_dir / n for n in names] + [dirs.outputs / "index.html"]
    try:
        written = json.loads((plan.output_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    recorded = {
        (r.get("family"), r.get("org_code"), r.get("fingerprint"), r.get("status"))
        for r in written.get("reports", [])
    }
    wanted = {(j.family, j.org_code, j.fingerprint, "ok") for j in plan.jobs}
    return (
        all(p.is_file() for p in pages)
        and recorded == wanted
        and len(good_jobs(plan)) == len(plan.jobs)
    )


def write_workbook(plan: Plan, dirs: ProjectPaths, figures_text: str, ref: Reference) -> str | None:
    """Write the period's board-tables.xlsx; None, or why it could not be built.

    A workbook that cannot be built is not left behind from an earlier run (it would describe
    other reports), so the next run tries again; the reports are never touched.
    """
    path = plan.output_dir / WORKBOOK
    try:
        data = board_workbook(plan, dirs, figures_text, ref)
    except BoardOutputError as exc:
        with storage_faults(path):
            path.unlink(missing_ok=True)
        return f"{dirs.show(path)} could not be built, the reports are unaffected: {exc}"
    write_atomic(path, data, only_if_changed=True)
    return None


@dataclass(frozen=True)
class Exported:
    """What writing a period's pages gave: the changes since the last run, and any board
    output that could not be built (each with why)."""

    changes: RunChanges
    not_built: list[str]
    pages_seconds: float = 0.0  # figures, overview and manifest
    workbook_seconds: float = 0.0


def export_period(
    plan: Plan, dirs: ProjectPaths, failed: set[str], started: str, finished: str | None = None
) -> Exported:
    """Write the period's figures.csv (and its dictionary), changes.csv, index.html,
    board-tables.xlsx, manifest.json and outputs/index.html; return what changed since the
    last run and what could not be built."""
    t0 = time.perf_counter()
    figs = collect_figures(good_jobs(plan))
    previous = previous_run(plan.output_dir)
    figures_text = figures_csv(figs)
    inputs = input_hashes(plan.params, dirs)
    changes = compare_runs(previous, read_figures_text(figures_text), inputs)
    write_atomic(plan.output_dir / "figures.csv", figures_text, only_if_changed=True)
    write_atomic(plan.output_dir / "changes.csv", changes_csv(changes), only_if_changed=True)
    dictionary = definitions_csv(list(plan.params.families))
    write_atomic(plan.output_dir / "figure_definitions.csv", dictionary, only_if_changed=True)
    page = period_page(build_overview(plan, figs, failed, changes))
    write_atomic(plan.output_dir / "index.html", page, only_if_changed=True)
    t_workbook = time.perf_counter()
    problem = write_workbook(plan, dirs, figures_text, load_reference(dirs.reference))
    workbook_seconds = time.perf_counter() - t_workbook
    done = finished or now()
    data = manifest(plan, dirs, failed, started, done)
    data["history"] = history(previous, changes, done)
    write_atomic(plan.output_dir / "manifest.json", json.dumps(data, indent=2) + "\n")
    write_outputs_index(dirs.outputs)
    pages_seconds = time.perf_counter() - t0 - workbook_seconds
    return Exported(changes, [problem] if problem else [], pages_seconds, workbook_seconds)
