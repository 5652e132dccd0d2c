"""Rehearsals: the fork server runs the kit's own code of one report of a family before
forking its kernels, nothing else, and nothing of it is left for a report to see (the
kernels' side: tests/test_forkserver.py)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest

from helpers.errors import ParameterError
from helpers.kernels.forkserver import warm_call
from helpers.paths import DEFAULT
from helpers.pipeline.params import load_params
from helpers.pipeline.plan import build_plan
from helpers.pipeline.runner import REHEARSE_FROM, REHEARSE_VAR, rehearsals
from helpers.report import rehearsal
from helpers.report.registry import FAMILIES
from helpers.report.rehearsal import code_cells, rehearse


def _notebook(path: Path, *cells: str) -> Path:
    """A notebook: a parameters cell, a markdown cell, then the other code ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cells[0], metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_markdown_cell("# not code")]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells[1:]]
    nbformat.write(nb, path)
    return path


PROBE = """
import os, pathlib
import matplotlib, matplotlib.pyplot as plt

def mark(name):
    matplotlib.rcParams["lines.linewidth"] = 9
    plt.figure()
    print("noise")
    pathlib.Path(name).write_text(os.getcwd())
"""


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module the rehearsal takes for the kit's own code (it prints, draws and writes)."""
    (tmp_path / "rehearsal_probe.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(rehearsal, "KIT_MODULES", (*rehearsal.KIT_MODULES, "rehearsal_probe"))
    return "from rehearsal_probe import mark"


def test_a_rehearsal_runs_the_code_cells_with_the_parameters_in_the_notebooks_folder(
    tmp_path: Path, probe: str, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _notebook(tmp_path / "n.ipynb", "org_code = 'Q36'", probe, "mark(org_code)")
    before = dict(matplotlib.rcParams)
    assert rehearse(str(nb), json.dumps({"org_code": "RF4"})) == 3
    assert (tmp_path / "RF4").read_text() == str(tmp_path)
    assert capsys.readouterr().out == ""  # displays and prints go nowhere
    assert plt.get_fignums() == []  # every figure closed
    assert dict(matplotlib.rcParams) == before  # settings put back
    assert [is_parameters for is_parameters, _ in code_cells(nb)] == [True, False, False]


@pytest.mark.parametrize(
    "cell",
    [
        "open('written', 'w').write('x')",  # a builtin
        "import time\ntime.sleep(60)",  # a module outside the kit
        "import not_a_module_anyone_has",  # an import that would run new code
        "from helpers.pipeline.runner import run_reports",  # the kit, but a layer that writes
        "from helpers import pipeline",
        "frame = metrics.pd.DataFrame()",  # a kit module's attribute that is not the kit's
        "report._hidden()",
        "mark.__globals__['pathlib'].Path('written').touch()",
        "for name in ['a']:\n    mark(name)",
        "(lambda: mark('a'))()",
        "names = {}\nnames['a'] = mark('a')",
        "not python(",
    ],
)
def test_a_rehearsal_stops_at_the_first_statement_that_is_not_the_kits_own_code(
    tmp_path: Path, probe: str, cell: str
) -> None:
    nb = _notebook(
        tmp_path / "n.ipynb",
        "org_code = 'Q36'",
        f"{probe}\nfrom helpers import metrics, report",
        "mark('first')",
        cell,
        "mark('after')",
    )
    assert rehearse(str(nb), "{}") == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "n.ipynb", "rehearsal_probe.py"]


def test_a_parameters_cell_that_computes_is_not_rehearsed(tmp_path: Path, probe: str) -> None:
    nb = _notebook(tmp_path / "n.ipynb", "org_code = open('written').read()", probe)
    assert rehearse(str(nb), "{}") == 0
    assert not (tmp_path / "written").exists()


@pytest.mark.parametrize("family", FAMILIES)
def test_every_cell_of_the_committed_notebooks_is_rehearsed(family: str) -> None:
    """The warm-up covers the whole report (a cell of other code would end it early)."""
    notebook = DEFAULT.notebooks / f"{family}.ipynb"
    org = "NCL" if family == "cluster_milestone_slippage" else "Q36"
    parameters = json.dumps({"period": "2011-12-Q1", "org_code": org})
    assert rehearse(str(notebook), parameters) == len(code_cells(notebook))
    assert plt.get_fignums() == []


def test_a_failing_rehearsal_is_only_a_warning_in_the_server(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failing = "from helpers.report import open_report\nopen_report('regional_outturn', 'x', 'Q36')"
    nb = _notebook(tmp_path / "n.ipynb", "x = 1", failing)
    with pytest.raises(ParameterError):
        rehearse(str(nb), "{}")
    warm_call(json.dumps(["helpers.report.rehearsal:rehearse", [str(nb), "{}"]]))  # no raise
    assert "ParameterError" in caplog.text


def test_the_run_rehearses_one_report_of_each_family_with_enough_to_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = load_params(DEFAULT.params / "2011-12-Q1.yaml")
    jobs = build_plan(params, DEFAULT, force=True).to_run
    monkeypatch.setenv(REHEARSE_VAR, "0")
    assert rehearsals(jobs) == []  # turned off
    monkeypatch.delenv(REHEARSE_VAR)  # on by default: it runs only the kit's own code
    calls = rehearsals(jobs)
    families = {job.family for job in jobs}
    assert len(calls) == len(families) == 4
    for target, (notebook, parameters) in calls:
        assert target == "helpers.report.rehearsal:rehearse"
        first = next(job for job in jobs if str(job.notebook) == notebook)
        assert json.loads(parameters) == first.parameters
    few = [job for job in jobs if job.family == "regional_outturn"][: REHEARSE_FROM - 1]
    assert rehearsals(few) == []  # a run of one or two reports does not wait for a rehearsal
