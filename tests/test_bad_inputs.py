"""The bad-input corpus (tests/bad_inputs/cases.py) run through the kit's command line.

Refused cases run ``reports --period P`` on their edited project copy: the run must exit
non-zero before any kernel starts, one line of its message must name the file (and sheet),
row, column, value and expectation, there must be no traceback, and ``outputs/`` (seeded with
a previous run's files) must be exactly as it was. Accepted cases run ``validate --period P``
and their processed frames must equal the unedited sample's (with the edit's intended
changes, if any). Every case runs once, in one subprocess (tests/bad_inputs/batch.py); one
case is also run with ``run_kit`` to show that both ways give the same result.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest
from bad_inputs.batch import run_many
from bad_inputs.cases import CASES, Case, Change, Refuse
from bad_inputs.project import PERIOD, Project
from kit_project import make_project, run_kit, tree_hashes

from helpers.data.organisations import load_reference
from helpers.data.period_data import tidy_frame
from helpers.data.periods import Period
from helpers.data.schemas import TABLES
from helpers.data.validate import validate_period
from helpers.paths import RAW_DIR, REFERENCE_DIR

REFUSED = [c for c in CASES if not c.accepted]
ACCEPTED = [c for c in CASES if c.accepted]
#: The kinds of bad input issue 8 lists; the corpus must hold at least one case of each.
ISSUE_KINDS = {
    "empty file",
    "header only",
    "missing column",
    "extra column",
    "renamed column",
    "duplicated column",
    "columns in another order",
    "text in a money column",
    "£1,234.5 in a money column",
    "(12.9) in a money column",
    "-12.9 in a money column",
    "UTF-8 with BOM",
    "cp1252 file",
    "Excel workbook with a missing sheet",
    "Excel workbook with an extra sheet",
    "Excel workbook with merged header cells",
    "Excel workbook with formulas (cached values used)",
    "dates as text",
    "dates as Excel serials",
    "unknown organisation",
    "organisation outside its validity dates",
    "duplicate rows",
    "period in the file differs from the folder",
    "parts not adding up to totals",
    "params file with an unknown key",
    "params file with a wrong type",
    "params file for a period with no returns",
}
#: The classes issue 13 lists (returns that are incomplete or impossible, and their messages).
ISSUE_13_KINDS = {
    "an SHA budget line missing for a month",
    "an organisation's month missing",
    "a whole month missing",
    "an organisation's savings programme missing",
    "a trust's variance drivers missing",
    "a table the year must have missing",
    "an infinite number",
    "an implausibly large amount",
    "a duplicate code in the reference data",
    "a UK-style date in the reference data",
    "a column missing from the reference data",
    "a return that links outside the project",
    "a header below title rows",
    "UTF-16 without a byte-order mark",
    "a code in lower case",
}


def seed_outputs(root: Path) -> None:
    """A previous good run's files, so that "outputs/ unchanged" means something."""
    out = root / "outputs"
    period = out / PERIOD
    report = period / "provider_shortfall"
    report.mkdir(parents=True)
    (out / "index.html").write_text("<!DOCTYPE html><title>NHS London</title>\n")
    (period / "index.html").write_text("<!DOCTYPE html><title>2011-12-Q1</title>\n")
    (period / "figures.csv").write_text(
        "period,notebook,org_code,figure,value,unit\n"
        "2011-12-Q1,provider_shortfall,RAL,cip_shortfall_pct,12.5000,pct\n"
    )
    (period / "manifest.json").write_text(json.dumps({"period": PERIOD}) + "\n")
    (report / "RAL.html").write_text("<!DOCTYPE html><p>Royal Free: last quarter's report</p>\n")
    (report / "RAL.ipynb").write_text(json.dumps({"cells": [], "nbformat": 4}) + "\n")
    state = period / ".state" / "provider_shortfall"
    state.mkdir(parents=True)
    (state / "RAL.json").write_text('{"fingerprint": "0"}\n')


@dataclass(frozen=True)
class Ran:
    """One case after its edit and its run."""

    root: Path
    outcome: Refuse | list[Change]
    outputs_before: dict[str, str]
    proc: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """Every case edited in its own project copy and run once (all in one subprocess)."""
    prepared = []
    for case in CASES:
        root = make_project(tmp_path_factory.mktemp(case.name), periods=(PERIOD,))
        seed_outputs(root)
        outcome = case.edit(Project(root))
        command = "validate" if case.accepted else "reports"
        prepared.append((case, root, outcome, tree_hashes(root / "outputs"), command))
    procs = run_many([(root, (cmd, "--period", c.period)) for c, root, _, _, cmd in prepared])
    return {
        case.name: Ran(root, outcome, before, proc)
        for (case, root, outcome, before, _), proc in zip(prepared, procs, strict=True)
    }


@pytest.fixture(scope="module")
def sample_frames() -> dict[str, pd.DataFrame]:
    """The unedited sample's validated frames."""
    data = validate_period(Period.parse(PERIOD), RAW_DIR, load_reference(REFERENCE_DIR))
    return {name: data.table(name) for name in TABLES}


def test_the_corpus_covers_every_kind_the_issue_lists() -> None:
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    assert ISSUE_KINDS - {c.kind for c in CASES} == set()
    assert ISSUE_13_KINDS - {c.kind for c in CASES} == set()


def _message_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.strip().removeprefix("- ") for line in (proc.stdout + proc.stderr).splitlines()]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_refused(case: Case, corpus: dict[str, Ran]) -> None:
    ran = corpus[case.name]
    assert isinstance(ran.outcome, Refuse)
    proc = ran.proc
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
    words = ran.outcome.words()
    lines = _message_lines(proc)
    assert any(all(w in line for w in words) for line in lines), (
        f"no line names all of {words}:\n{proc.stderr}"
    )
    assert not [w for w in ran.outcome.absent if w in proc.stdout + proc.stderr], proc.stderr
    after = tree_hashes(ran.root / "outputs")
    listed = after.pop(f"{case.period}/validation.csv", None)
    assert after == ran.outputs_before  # no report, page or stamp touched
    assert not (ran.root / "outputs" / case.period / "logs").exists()
    if listed is not None:  # refused returns: every problem in a table, and the message says so
        problems = pd.read_csv(ran.root / "outputs" / case.period / "validation.csv", dtype=str)
        assert list(problems.columns) == ["file", "row", "column", "value", "problem"]
        assert ran.outcome.file.removeprefix("data/reference/") in " ".join(problems["file"])
        assert f"every problem is listed in outputs/{case.period}/validation.csv" in proc.stderr


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_accepted(
    case: Case, corpus: dict[str, Ran], sample_frames: dict[str, pd.DataFrame]
) -> None:
    ran = corpus[case.name]
    assert isinstance(ran.outcome, list)
    assert ran.proc.returncode == 0, ran.proc.stdout + ran.proc.stderr
    assert f"{case.period}: OK" in ran.proc.stdout
    processed = ran.root / "data" / "processed" / case.period
    expected = {name: frame.copy() for name, frame in sample_frames.items()}
    for change in ran.outcome:
        frame = expected[change.table]
        rows = pd.Series(True, index=frame.index)
        for col, value in change.match.items():
            rows &= frame[col] == value
        assert rows.any(), change
        frame.loc[rows, change.column] = change.value
    for name in TABLES:
        got = tidy_frame(name, pd.read_parquet(processed / f"{name}.parquet"))
        pdt.assert_frame_equal(got, expected[name], check_dtype=True, check_exact=True, obj=name)


def test_the_batch_runner_gives_what_run_kit_gives(corpus: dict[str, Ran]) -> None:
    """One refused case run again as its own process: the same exit code and message."""
    ran = corpus["text_in_money"]
    proc = run_kit(ran.root, "reports", "--period", PERIOD)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        ran.proc.returncode,
        ran.proc.stdout,
        ran.proc.stderr,
    )
    after = tree_hashes(ran.root / "outputs")
    assert after.pop(f"{PERIOD}/validation.csv")
    assert after == ran.outputs_before
