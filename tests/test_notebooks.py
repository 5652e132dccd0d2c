"""The report notebooks: the analysts' source, checked by convention (a parameters cell that
matches the registry, no stored outputs, no definitions); executed, they reproduce the
published figures, stop with one clear sentence on a bad parameter, and are deterministic.

The executions (marked slow) run once per module with papermill's Python API, two at a time,
from a working directory that is not notebooks/, on the project's ``nhs-kit`` kernel.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import papermill
import pytest

from helpers.figures import FIGURES_MIME, read_figures
from helpers.paths import NOTEBOOKS_DIR, PUBLISHED_FIGURES
from helpers.report.registry import FAMILIES

PUBLISHED = pd.read_csv(PUBLISHED_FIGURES, dtype=str, keep_default_na=False)
ROWS: list[dict[str, str]] = PUBLISHED.to_dict("records")  # type: ignore[assignment]
EIGHT_PCTS = {"5A9", "5C1", "5C9", "5K6", "5HY", "5M7", "5NC", "5C2"}

Run = tuple[str, str, str]  # (family, period, org_code)
#: Every report the published figures name, plus the 2010-11 cluster report (no milestones).
RUNS: list[Run] = sorted(
    {(r["notebook"], r["period"], r["org_code"]) for r in ROWS}
    | {("cluster_milestone_slippage", "2010-11-M10", "Q36")}
)
BAD_RUNS: dict[Run, str] = {
    ("pct_support_needs", "2010-11-M10", "RF4"): (
        "Barking Havering and Redbridge University Hospitals NHS Trust (RF4) is an NHS trust, "
        "but the pct_support_needs report (PCT break-even and support needs) runs for NHS "
        "London (Q36) or a PCT or care trust."
    ),
    ("regional_outturn", "2011-12-Q1", "ZZZ"): (
        "Organisation code 'ZZZ' is not in the reference data (data/reference/organisations.csv)."
    ),
}
RERUN: Run = ("provider_shortfall", "2010-11-M10", "RF4")


def _code_cells(nb: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    return (c for c in nb["cells"] if c["cell_type"] == "code")


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


# --- the committed notebooks: conventions, not bytes (fast) -------------------------------


def test_every_notebook_has_a_family_and_every_family_a_notebook() -> None:
    assert sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")) == sorted(FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
def test_parameters_cell_matches_the_registry(family: str) -> None:
    """Names, order, types, defaults and help of the parameters cell are the registry's."""
    path = NOTEBOOKS_DIR / f"{family}.ipynb"
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and nb.cells.index(tagged[0]) == 0, "one parameters cell, first"
    found = papermill.inspect_notebook(str(path))
    wanted = FAMILIES[family].parameters
    assert list(found) == [p.name for p in wanted]
    for param in wanted:
        got = found[param.name]
        assert got["inferred_type_name"] == param.type_name, param.name
        assert ast.literal_eval(got["default"]) == param.default, param.name
        assert got["help"] == param.help, param.name


@pytest.mark.parametrize("family", FAMILIES)
def test_notebook_is_stripped_and_tells_the_story_with_the_helpers(family: str) -> None:
    path = NOTEBOOKS_DIR / f"{family}.ipynb"
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(nb)
    assert nb.metadata.kernelspec == {
        "name": "nhs-kit",
        "display_name": "NHS finance kit (Python 3.11)",
        "language": "python",
    }
    for cell in _code_cells(nb):
        assert cell["outputs"] == [] and cell["execution_count"] is None, "saved with outputs"
        tree = ast.parse(_text(cell["source"]))
        defined = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda)
        ]
        assert not defined, f"{family}: define functions in helpers/report/{family}.py"
    sources = "\n".join(_text(c["source"]) for c in nb.cells)
    assert (
        sources.count(f'open_report(\n    "{family}",') + sources.count(f'open_report("{family}",')
        == 1
    ), "one open_report call, for this notebook's family"
    assert sources.count("report.record_figures()") == 1
    for forbidden in ("open(", "Path(", "chdir", "../", "read_csv", "import os"):
        assert forbidden not in sources, f"{forbidden} in {family}: paths come from helpers"


# --- executed reports (slow) --------------------------------------------------------------


def _execute(run: Run, out: Path, cwd: Path) -> Path | Exception:
    family, period, org = run
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS_DIR / f"{family}.ipynb"),
            str(out),
            parameters={"period": period, "org_code": org},
            kernel_name="nhs-kit",
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
            shutdown_kernel="immediate",
        )
    except papermill.PapermillExecutionError as exc:
        error: Exception = exc
        return error
    return out


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | Exception]:
    """Run every report once (and RERUN twice); key ``family/period/org`` (``#2`` for rerun)."""
    out_dir = tmp_path_factory.mktemp("reports")
    cwd = tmp_path_factory.mktemp("elsewhere")
    assert cwd.resolve() != NOTEBOOKS_DIR.resolve()
    jobs = {"/".join(r): r for r in [*RUNS, *BAD_RUNS]}
    jobs["/".join(RERUN) + "#2"] = RERUN
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            key: pool.submit(_execute, run, out_dir / f"{key.replace('/', '_')}.ipynb", cwd)
            for key, run in jobs.items()
        }
        return {key: f.result() for key, f in futures.items()}


def _notebook(executed: dict[str, Path | Exception], key: str) -> dict[str, Any]:
    result = executed[key]
    assert isinstance(result, Path), f"{key} failed: {result}"
    nb: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    return nb


@pytest.mark.slow
def test_notebooks_reproduce_every_published_figure(executed: dict[str, Path | Exception]) -> None:
    missing, wrong = [], []
    for row in ROWS:
        key = f"{row['notebook']}/{row['period']}/{row['org_code']}"
        figs = read_figures(_notebook(executed, key)).set_index("figure")["value"].to_dict()
        name, value, tolerance = row["figure"], float(row["value"]), float(row["tolerance"])
        if name not in figs:
            missing.append(f"{key} {name}")
        elif abs(figs[name] - value) > tolerance + 1e-9:
            wrong.append(f"{key} {name}: got {figs[name]}, published {value}")
    assert not missing, missing
    assert not wrong, wrong


@pytest.mark.slow
def test_each_report_records_its_figures_once(executed: dict[str, Path | Exception]) -> None:
    for family, period, org in RUNS:
        nb = _notebook(executed, f"{family}/{period}/{org}")
        payloads = [
            o["data"][FIGURES_MIME]
            for c in _code_cells(nb)
            for o in c["outputs"]
            if FIGURES_MIME in o.get("data", {})
        ]
        assert len(payloads) == 1, f"{family}/{period}/{org}"
        figs = read_figures(nb)
        assert set(figs["period"]) == {period} and set(figs["notebook"]) == {family}
        assert set(figs["org_code"]) == {org}
        assert figs["figure"].is_unique
        assert nb["metadata"]["papermill"]["parameters"] == {"period": period, "org_code": org}


@pytest.mark.slow
def test_the_eight_pcts_needing_support_in_2010_11(executed: dict[str, Path | Exception]) -> None:
    nb = _notebook(executed, "pct_support_needs/2010-11-M10/Q36")
    tables = [
        _text(o["data"]["text/plain"])
        for c in _code_cells(nb)
        for o in c["outputs"]
        if _text(o.get("data", {}).get("text/plain", "")).startswith("PCTs that need support")
    ]
    assert len(tables) == 1
    codes = {line.split()[0] for line in tables[0].splitlines()[2:]}
    assert codes == EIGHT_PCTS
    assert read_figures(nb).set_index("figure").loc["pcts_needing_support_count", "value"] == 8
    for org in EIGHT_PCTS | {"5K7", "5LG"}:
        figs = read_figures(_notebook(executed, f"pct_support_needs/2010-11-M10/{org}"))
        flag = figs.set_index("figure").loc["needs_support", "value"]
        assert flag == (1.0 if org in EIGHT_PCTS else 0.0), org


@pytest.mark.slow
@pytest.mark.parametrize("run", list(BAD_RUNS), ids=["/".join(r) for r in BAD_RUNS])
def test_bad_parameter_stops_with_one_sentence(
    executed: dict[str, Path | Exception], run: Run
) -> None:
    error = executed["/".join(run)]
    assert isinstance(error, papermill.PapermillExecutionError)
    sentence = BAD_RUNS[run]
    assert error.ename == "ParameterError"
    assert error.evalue == sentence
    assert sentence in str(error)
    frames = [line for line in error.traceback if "File " in line or "Cell In" in line]
    assert len(frames) <= 2, "the traceback should be short"


@pytest.mark.slow
def test_cluster_report_without_milestone_tracking(executed: dict[str, Path | Exception]) -> None:
    nb = _notebook(executed, "cluster_milestone_slippage/2010-11-M10/Q36")
    texts = [
        _text(o.get("data", {}).get("text/plain", ""))
        for c in _code_cells(nb)
        for o in c["outputs"]
    ]
    assert any(t.startswith("There is no QIPP milestone tracking for 2010-11") for t in texts)
    assert "No QIPP milestones were tracked in 2010-11." in texts
    figs = read_figures(nb)
    assert not figs["figure"].str.startswith("milestones_").any()
    assert figs.set_index("figure").loc["qipp_annual_plan_gbp_m", "value"] == 455.5


@pytest.mark.slow
def test_same_report_twice_gives_identical_outputs(executed: dict[str, Path | Exception]) -> None:
    def compared(nb: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [
            (mime, _text(o["data"][mime]))
            for c in _code_cells(nb)
            for o in c["outputs"]
            for mime in ("text/plain", "text/html", "image/png")
            if mime in o.get("data", {})
        ]

    first = compared(_notebook(executed, "/".join(RERUN)))
    second = compared(_notebook(executed, "/".join(RERUN) + "#2"))
    assert len(first) > 10
    assert first == second


@pytest.mark.slow
def test_outputs_are_charts_tables_and_text_only(executed: dict[str, Path | Exception]) -> None:
    volatile = re.compile(r"0x[0-9a-f]{6,}|<Figure size|Line2D|<matplotlib|Styler object|uuid")
    for family, period, org in RUNS:
        nb = _notebook(executed, f"{family}/{period}/{org}")
        for cell in _code_cells(nb):
            for out in cell["outputs"]:
                assert out["output_type"] == "display_data", (family, org, out)
                plain = _text(out["data"]["text/plain"])
                assert not volatile.search(plain), (family, org, plain[:200])
    nb = _notebook(executed, "regional_outturn/2010-11-M10/Q36")
    charts = [o for c in _code_cells(nb) for o in c["outputs"] if "image/png" in o["data"]]
    assert len(charts) == 4  # the bridge, the trajectory and the two XmR charts
    for out in charts:
        assert out["metadata"]["image/png"] == {"width": 800, "height": 450}
        assert _text(out["data"]["text/plain"]).startswith("[chart: ")
