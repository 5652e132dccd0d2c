"""The regression suite's references: golden executed notebooks and figures ground truth.

Usage example (what ``make golden`` runs)::

    python -m kit_dev.golden                # rewrite tests/golden/ and tests/backtest/
    assert_figures_equal(read_figures_csv(run / "figures.csv"),
                         read_figures_csv(backtest_path("2011-12-Q1")))

:data:`GOLDEN` is the representative set: London (Q36) in each report family and sample
period, plus a few organisations of each type. Each golden notebook is executed exactly as
the runner executes it (the jobs come from :func:`helpers.pipeline.plan.build_plan` on the period's
params file and run through :func:`helpers.pipeline.runner.run_jobs`), then stripped of what differs
between runs and machines (timestamps, paths, provenance) and written atomically under
``tests/golden/<period>/<family>/<org>.ipynb``; ``make test`` replays them with nbval.
``tests/backtest/<period>.figures.csv`` is the figures.csv of a full run of the period (every
report, through ``python -m helpers.cli reports`` in a throw-away copy of the project).
Nothing else writes these files: a reviewer reads their diff.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pandas.testing as pdt

from helpers.data.organisations import load_reference
from helpers.data.periods import Period
from helpers.data.store import build_processed
from helpers.errors import GoldenError, KitError
from helpers.figures import FIGURE_COLUMNS
from helpers.files import write_atomic
from helpers.paths import DEFAULT, ProjectPaths
from helpers.pipeline.job import JobResult
from helpers.pipeline.params import FamilyRun, PeriodParams, load_params
from helpers.pipeline.plan import Job, build_plan
from helpers.pipeline.pool import run_jobs
from helpers.report.registry import FAMILIES
from kit_dev.project import copy_inputs, kit_env

GOLDEN_DIR = Path("tests") / "golden"  # relative to the project root
BACKTEST_DIR = Path("tests") / "backtest"
#: What a golden notebook's metadata keeps: the parameters papermill injected, nothing timed.
KEPT_PAPERMILL = ("parameters",)
INJECTED_ID = "injected-parameters"
#: The project folders a throw-away copy needs for a full run (as tests/kit_project.py copies).


@dataclass(frozen=True, order=True)
class GoldenReport:
    """One golden report: a period, a report family and an organisation."""

    period: str
    family: str
    org_code: str

    @property
    def relpath(self) -> Path:
        """``<period>/<family>/<org>.ipynb`` under the golden folder."""
        return Path(self.period) / self.family / f"{self.org_code}.ipynb"


SAMPLE_PERIODS = ("2010-11-M10", "2011-12-Q1")
#: London in every family and period, then trusts, PCTs, a care trust and clusters.
GOLDEN: tuple[GoldenReport, ...] = tuple(
    sorted(
        [GoldenReport(p, f, "Q36") for p in SAMPLE_PERIODS for f in FAMILIES]  # every family
        + [
            GoldenReport("2010-11-M10", "provider_shortfall", "RF4"),
            GoldenReport("2010-11-M10", "provider_shortfall", "RJ7"),
            GoldenReport("2010-11-M10", "pct_support_needs", "5NC"),
            GoldenReport("2010-11-M10", "pct_support_needs", "5C9"),
            GoldenReport("2011-12-Q1", "provider_shortfall", "RF4"),
            GoldenReport("2011-12-Q1", "pct_support_needs", "TAK"),
            GoldenReport("2011-12-Q1", "regional_outturn", "NCL"),
            GoldenReport("2011-12-Q1", "cluster_milestone_slippage", "SWL"),
            GoldenReport("2011-12-Q1", "cluster_milestone_slippage", "NCL"),
        ]
    )
)


def golden_path(report: GoldenReport, root: Path | None = None) -> Path:
    """Where ``report``'s golden notebook lives."""
    return (root or DEFAULT.root) / GOLDEN_DIR / report.relpath


def backtest_path(period: str, root: Path | None = None) -> Path:
    """The committed ground truth of ``period``'s figures.csv."""
    return (root or DEFAULT.root) / BACKTEST_DIR / f"{period}.figures.csv"


# --- the jobs -------------------------------------------------------------------------------


def golden_params(
    params: PeriodParams, wanted: Iterable[GoldenReport], dirs: ProjectPaths
) -> PeriodParams:
    """``params`` narrowed to the wanted reports (same options; the runner's own plan).

    A family the params file leaves out (cluster_milestone_slippage in 2010-11) runs with the
    notebook's defaults for its options, as it would if the file listed it without options.
    """
    orgs: dict[str, list[str]] = {}
    for report in wanted:
        orgs.setdefault(report.family, []).append(report.org_code)
    families: dict[str, FamilyRun] = {}
    for family, codes in orgs.items():
        run = params.families.get(family) or FamilyRun(
            family, dirs.notebooks / f"{family}.ipynb", []
        )
        families[family] = dataclasses.replace(run, orgs=sorted(codes))
    return dataclasses.replace(params, families=families)


def golden_jobs(
    dirs: ProjectPaths, scratch: Path, reports: Iterable[GoldenReport] = GOLDEN
) -> list[Job]:
    """The runner's jobs for ``reports``, writing their outputs under ``scratch``."""
    chosen = sorted(reports)
    ref = load_reference(dirs.reference)
    problems = []
    for r in chosen:
        try:
            spec = FAMILIES[r.family]
            ref.check_org(r.org_code, spec.org_types, Period.parse(r.period), spec.name)
        except KitError as exc:
            problems.append(f"{r.relpath}: {exc}")
    if problems:
        raise GoldenError("\n".join(problems))
    jobs: list[Job] = []
    for period in sorted({r.period for r in chosen}):
        params = load_params(dirs.params / f"{period}.yaml", dirs)
        narrowed = golden_params(params, [r for r in chosen if r.period == period], dirs)
        plan = build_plan(narrowed, dataclasses.replace(dirs, outputs=scratch), force=True)
        jobs += plan.jobs
    return jobs


# --- golden notebooks -----------------------------------------------------------------------


def normalise(nb: dict[str, Any], report: GoldenReport) -> dict[str, Any]:
    """The executed notebook without what differs between runs (times, paths, provenance).

    Outputs and execution counts stay (nbval compares outputs, and skips cells without an
    execution count); the papermill metadata keeps only the injected parameters.
    """
    out = dict(nb)
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k not in ("nhs_kit", "papermill")}
    papermill = nb.get("metadata", {}).get("papermill", {})
    meta["papermill"] = {k: papermill[k] for k in KEPT_PAPERMILL if k in papermill}
    meta["nhs_kit_golden"] = {
        "period": report.period,
        "family": report.family,
        "org_code": report.org_code,
        "regenerate_with": "make golden",
    }
    out["metadata"] = meta
    cells = []
    for cell in nb.get("cells", []):
        cell = dict(cell)
        cell["metadata"] = {
            k: v for k, v in cell.get("metadata", {}).items() if k not in ("papermill", "execution")
        }
        if "injected-parameters" in cell["metadata"].get("tags", []):
            cell["id"] = INJECTED_ID  # papermill gives it a random id on every run
        cells.append(cell)
    out["cells"] = cells
    return out


def notebook_text(nb: Mapping[str, Any]) -> str:
    """The notebook as written to disk (nbformat's JSON, validated, newline at the end)."""

    node = nbformat.from_dict(dict(nb))  # type: ignore[no-untyped-call]
    nbformat.validate(node)
    text: str = nbformat.writes(node)  # type: ignore[no-untyped-call]
    return text + "\n"


def _run_golden(dirs: ProjectPaths, scratch: Path, workers: int) -> dict[Path, str]:
    """Execute every golden report; normalised text by golden path (GoldenError if one fails)."""
    jobs = golden_jobs(dirs, scratch)
    for period in sorted({j.period for j in jobs}):
        params = load_params(dirs.params / f"{period}.yaml", dirs)
        build_processed(
            params.period,
            raw_dir=params.raw_dir,
            processed_dir=params.processed_dir,
            reference_dir=dirs.reference,
        )
    failed: list[JobResult] = []
    run_jobs(jobs, workers, lambda r: None if r.ok else failed.append(r))
    if failed:  # once more: a kernel can fail to start on a busy machine (a port taken)
        again = {r.name for r in failed}
        failed = []
        run_jobs([j for j in jobs if j.name in again], workers, lambda r: failed.append(r))
        failed = [r for r in failed if not r.ok]
    if failed:
        lines = [f"  {r.name}: {r.error}" for r in sorted(failed, key=lambda r: r.name)]
        raise GoldenError("golden reports failed (nothing was written):\n" + "\n".join(lines))
    texts = {}
    for job in jobs:
        report = GoldenReport(job.period, job.family, job.org_code)
        nb = json.loads(job.ipynb.read_text(encoding="utf-8"))
        texts[golden_path(report, dirs.root)] = notebook_text(normalise(nb, report))
    return texts


# --- the back-test ground truth -------------------------------------------------------------


def full_run_figures(
    periods: Iterable[str], dirs: ProjectPaths, scratch: Path, workers: int
) -> dict[str, str]:
    """figures.csv text of a full run of each period in a throw-away copy of the project."""
    root = copy_inputs(scratch / "project", source=dirs.root)
    chosen = list(periods)
    args = [a for p in chosen for a in ("--period", p)]
    done = subprocess.run(
        [sys.executable, "-m", "helpers.cli", "reports", *args, "--force", "--jobs", str(workers)],
        cwd=root,
        env=kit_env(root),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise GoldenError(f"the full run of {', '.join(chosen)} failed:\n{done.stderr[-3000:]}")
    return {p: (root / "outputs" / p / "figures.csv").read_text(encoding="utf-8") for p in chosen}


def read_figures_csv(path: Path) -> pd.DataFrame:
    """A figures.csv as the back test compares it (text columns as text; values as parsed)."""
    frame = pd.read_csv(path, keep_default_na=False, dtype={c: str for c in FIGURE_COLUMNS[:4]})
    if list(frame.columns) != FIGURE_COLUMNS:
        raise GoldenError(f"{path}: columns {list(frame.columns)}, expected {FIGURE_COLUMNS}")
    return frame


def figures_of(frame: pd.DataFrame, reports: Iterable[tuple[str, str]]) -> pd.DataFrame:
    """The rows of ``frame`` for the given (notebook, org_code) pairs, index reset."""
    keys = set(reports)
    mask = [(n, o) in keys for n, o in zip(frame["notebook"], frame["org_code"], strict=True)]
    return frame.loc[mask].reset_index(drop=True)


def figures_diff(actual: pd.DataFrame, expected: pd.DataFrame) -> list[str]:
    """One line per figure that is missing, extra or different (empty when none is)."""
    key = ["period", "notebook", "org_code", "figure"]
    both = actual.merge(expected, on=key, how="outer", suffixes=("_got", "_want"), indicator=True)
    lines = []
    for row in both.to_dict("records"):
        name = "/".join(str(row[k]) for k in key)
        if row["_merge"] == "left_only":
            lines.append(f"{name}: not in the ground truth (got {row['value_got']!r})")
        elif row["_merge"] == "right_only":
            lines.append(f"{name}: missing (expected {row['value_want']!r})")
        elif (row["value_got"], row["unit_got"]) != (row["value_want"], row["unit_want"]):
            lines.append(
                f"{name}: got {row['value_got']!r} {row['unit_got']}, "
                f"expected {row['value_want']!r} {row['unit_want']}"
            )
    return lines


def assert_figures_equal(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """AssertionError unless the frames are equal: same rows, order, values (exact) and dtypes."""
    try:
        pdt.assert_frame_equal(
            actual.reset_index(drop=True),
            expected.reset_index(drop=True),
            check_dtype=True,
            check_exact=True,
        )
    except AssertionError as exc:
        diff = figures_diff(actual, expected)
        shown = "\n".join(diff[:30]) + (f"\n... {len(diff) - 30} more" if len(diff) > 30 else "")
        raise AssertionError(f"figures differ from the ground truth:\n{shown}\n{exc}") from None


# --- the command ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldenResult:
    """What ``make golden`` rewrote: files written (changed) and golden notebooks removed."""

    notebooks: int
    ground_truths: int
    changed: list[Path]
    removed: list[Path]


def regenerate(
    jobs: int | None = None, backtest: bool = True, dirs: ProjectPaths = DEFAULT
) -> GoldenResult:
    """Regenerate the golden notebooks (and the back-test ground truth) under ``dirs.root``."""
    workers = jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="nhs-kit-golden-") as tmp:
        scratch = Path(tmp)
        texts = _run_golden(dirs, scratch / "golden", workers)
        figures = full_run_figures(SAMPLE_PERIODS, dirs, scratch, workers) if backtest else {}
    truths = {backtest_path(p, dirs.root): text for p, text in figures.items()}
    written = {**texts, **truths}
    changed = [p for p, t in written.items() if write_atomic(p, t, only_if_changed=True)]
    golden_root = dirs.root / GOLDEN_DIR
    stale = [p for p in sorted(golden_root.rglob("*.ipynb")) if p not in texts]
    for path in stale:
        path.unlink()
    return GoldenResult(len(texts), len(truths), changed, stale)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kit_dev.golden [--jobs N] [--no-backtest]``: what ``make golden`` runs."""

    parser = argparse.ArgumentParser(description="Regenerate tests/golden/ and tests/backtest/.")
    parser.add_argument("--jobs", type=int, default=None, help="parallel reports (default: cores)")
    parser.add_argument("--no-backtest", action="store_true", help="golden notebooks only")
    args = parser.parse_args(argv)
    try:
        result = regenerate(args.jobs, not args.no_backtest)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for path in result.changed:
        print(f"wrote   {DEFAULT.show(path)}")
    for path in result.removed:
        print(f"removed {DEFAULT.show(path)}")
    print(
        f"{result.notebooks} golden notebooks, {result.ground_truths} ground-truth files: "
        f"{len(result.changed)} changed, {len(result.removed)} removed. "
        "Review `git diff tests/golden tests/backtest`."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
