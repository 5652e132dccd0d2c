"""Rehearsals: the fork server runs one report of a family before forking its kernels, and
nothing of it is left for a report to see (the kernels' side: tests/test_forkserver.py)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest

from helpers.kernels.forkserver import warm_call
from helpers.paths import DEFAULT
from helpers.pipeline.params import load_params
from helpers.pipeline.plan import build_plan
from helpers.pipeline.runner import REHEARSE_FROM, REHEARSE_VAR, rehearsals
from helpers.report.rehearsal import code_cells, rehearse


def _notebook(path: Path, *cells: str) -> Path:
    """A notebook: a parameters cell, a markdown cell, then the other code ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cells[0], metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_markdown_cell("# not code")]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells[1:]]
    nbformat.write(nb, path)
    return path


def test_a_rehearsal_runs_the_code_cells_with_the_parameters_in_the_notebooks_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _notebook(
        tmp_path / "n.ipynb",
        "org_code = 'Q36'",
        "import os, matplotlib, matplotlib.pyplot as plt\n"
        "matplotlib.rcParams['lines.linewidth'] = 9\nplt.figure()\nprint('noise')",
        "open('ran.txt', 'w').write(org_code + ' ' + os.getcwd())",
    )
    before = dict(matplotlib.rcParams)
    rehearse(str(nb), json.dumps({"org_code": "RF4"}))
    assert (tmp_path / "ran.txt").read_text() == f"RF4 {tmp_path}"
    assert capsys.readouterr().out == ""  # displays and prints go nowhere
    assert plt.get_fignums() == []  # every figure closed
    assert dict(matplotlib.rcParams) == before  # settings put back
    assert [is_parameters for is_parameters, _ in code_cells(nb)] == [True, False, False]


def test_a_failing_rehearsal_is_only_a_warning_in_the_server(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failing = "import matplotlib.pyplot as plt\nplt.figure()\n1 / 0"
    nb = _notebook(tmp_path / "n.ipynb", "x = 1", failing)
    with pytest.raises(ZeroDivisionError):
        rehearse(str(nb), "{}")
    assert plt.get_fignums() == []
    warm_call(json.dumps(["helpers.report.rehearsal:rehearse", [str(nb), "{}"]]))  # no raise
    assert "ZeroDivisionError" in caplog.text


def test_the_run_rehearses_one_report_of_each_family_with_enough_to_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = load_params(DEFAULT.params / "2011-12-Q1.yaml")
    jobs = build_plan(params, DEFAULT, force=True).to_run
    assert rehearsals(jobs) == []  # off unless asked for: it runs notebook cells once more
    monkeypatch.setenv(REHEARSE_VAR, "1")
    calls = rehearsals(jobs)
    families = {job.family for job in jobs}
    assert len(calls) == len(families) == 4
    for target, (notebook, parameters) in calls:
        assert target == "helpers.report.rehearsal:rehearse"
        first = next(job for job in jobs if str(job.notebook) == notebook)
        assert json.loads(parameters) == first.parameters
    few = [job for job in jobs if job.family == "regional_outturn"][: REHEARSE_FROM - 1]
    assert rehearsals(few) == []  # a run of one or two reports does not wait for a rehearsal
