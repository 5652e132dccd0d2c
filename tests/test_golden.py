"""The golden notebooks and the figures ground truth: what is committed, and the helpers that
compare against them (fast: nothing here starts a kernel)."""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from helpers.figures import FIGURE_COLUMNS, read_figures
from helpers.paths import DEFAULT, PROJ_ROOT
from kit_dev.golden import (
    FAMILIES,
    GOLDEN,
    GOLDEN_DIR,
    INJECTED_ID,
    SAMPLE_PERIODS,
    GoldenError,
    GoldenReport,
    assert_figures_equal,
    backtest_path,
    figures_diff,
    figures_of,
    golden_jobs,
    golden_path,
    normalise,
    read_figures_csv,
)

SANITIZE = PROJ_ROOT / GOLDEN_DIR / "sanitize.cfg"
COMPARED = ("text/plain", "text/html")
#: Text that would make a compared output differ between runs or machines.
VOLATILE = re.compile(
    r"0x[0-9a-f]{6,}|<Axes|<Figure size|<matplotlib|Line2D|object at|"
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d|/tmp/|/home/|/root/|/work/|site-packages|Python 3\.\d+\.\d+"
)


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _golden(report: GoldenReport) -> dict[str, Any]:
    nb: dict[str, Any] = json.loads(golden_path(report).read_text(encoding="utf-8"))
    return nb


def _compared_texts(nb: dict[str, Any]) -> list[str]:
    return [
        _text(out["data"][mime])
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for out in cell["outputs"]
        for mime in COMPARED
        if mime in out.get("data", {})
    ]


def _sanitize_rules() -> list[re.Pattern[str]]:
    config = configparser.ConfigParser()
    config.read(SANITIZE, encoding="utf-8")
    return [re.compile(config[s]["regex"]) for s in config.sections()]


# --- the representative set ---------------------------------------------------------------


def test_golden_set_covers_london_every_family_and_period_and_named_orgs() -> None:
    assert 14 <= len(GOLDEN) <= 18
    assert len(set(GOLDEN)) == len(GOLDEN)
    for period in SAMPLE_PERIODS:
        for family in FAMILIES:
            assert GoldenReport(period, family, "Q36") in GOLDEN
    named = {(r.family, r.org_code) for r in GOLDEN}
    assert {
        ("provider_shortfall", "RF4"),
        ("pct_support_needs", "5NC"),
        ("cluster_milestone_slippage", "SWL"),
    } <= named
    assert GoldenReport("2011-12-Q1", "cluster_milestone_slippage", "SWL") in GOLDEN


def test_committed_golden_notebooks_are_exactly_the_set() -> None:
    committed = sorted((PROJ_ROOT / GOLDEN_DIR).rglob("*.ipynb"))
    assert committed == sorted(golden_path(r) for r in GOLDEN), "run `make golden`"


def test_golden_jobs_are_the_runners_jobs(tmp_path: Path) -> None:
    jobs = golden_jobs(DEFAULT, tmp_path)
    assert sorted(GoldenReport(j.period, j.family, j.org_code) for j in jobs) == list(GOLDEN)
    first = next(j for j in jobs if GoldenReport(j.period, j.family, j.org_code) == GOLDEN[0])
    assert first.output_dir == tmp_path / first.period / first.family
    for job in jobs:
        assert job.kernel_name == "nhs-kit"
        assert job.parameters["period"] == job.period
        assert job.parameters["org_code"] == job.org_code
        assert ("threshold_pct" in job.parameters) == (
            job.family in ("regional_outturn", "provider_shortfall")
        )


def test_golden_jobs_refuse_an_organisation_the_family_cannot_report_on(tmp_path: Path) -> None:
    with pytest.raises(GoldenError, match="RF4"):
        golden_jobs(DEFAULT, tmp_path, [GoldenReport("2011-12-Q1", "pct_support_needs", "RF4")])


# --- the committed golden notebooks -------------------------------------------------------


@pytest.mark.parametrize("report", GOLDEN, ids=[str(r.relpath) for r in GOLDEN])
def test_golden_notebook_replays_the_runners_parameters(report: GoldenReport) -> None:
    nb = _golden(report)
    assert nb["metadata"]["nhs_kit_golden"]["org_code"] == report.org_code
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and injected[0]["id"] == INJECTED_ID
    params = nb["metadata"]["papermill"]["parameters"]
    assert params["period"] == report.period and params["org_code"] == report.org_code
    for name, value in params.items():
        assert f"{name} = {json.dumps(value)}" in _text(injected[0]["source"])
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(isinstance(c["execution_count"], int) for c in code), "nbval skips unexecuted cells"
    assert sum(1 for c in code if c["outputs"]) >= 6


@pytest.mark.parametrize("report", GOLDEN, ids=[str(r.relpath) for r in GOLDEN])
def test_golden_outputs_are_stable_text(report: GoldenReport) -> None:
    nb = _golden(report)
    for cell in nb["cells"]:
        assert not {"papermill", "execution"} & set(cell["metadata"])
        for out in cell.get("outputs", []):
            assert out["output_type"] == "display_data", out["output_type"]
            if "image/png" in out["data"]:  # nbval skips the PNG: the text is the chart's data
                plain = _text(out["data"]["text/plain"]).splitlines()
                assert plain[0].startswith("[chart: ") and len(plain) >= 3
    for text in _compared_texts(nb):
        assert not VOLATILE.search(text), VOLATILE.search(text)
    assert "nhs_kit" not in nb["metadata"]  # the runner's provenance: times and a git commit


def test_sanitizer_hides_nothing_in_the_golden_outputs() -> None:
    rules = _sanitize_rules()
    assert rules, "the sanitize file has no rules"
    for report in GOLDEN:
        for text in _compared_texts(_golden(report)):
            for rule in rules:
                assert not rule.search(text), (report.relpath, rule.pattern)


def test_each_chart_has_its_data_in_a_compared_output() -> None:
    charts = 0
    for report in GOLDEN:
        for text in _compared_texts(_golden(report)):
            if text.startswith("[chart: "):
                charts += 1
                assert re.search(r"^(bars|line)\b.*: .*\d", text, re.M), text[:200]
    assert charts >= 2 * len(GOLDEN) - 8  # cluster reports of 2010-11 have none


def test_golden_figures_are_the_ground_truth_rows() -> None:
    truth = {p: read_figures_csv(backtest_path(p)) for p in SAMPLE_PERIODS}
    for report in GOLDEN:
        figs = read_figures(golden_path(report))
        if report == GoldenReport("2010-11-M10", "cluster_milestone_slippage", "Q36"):
            continue  # not in the 2010-11 params file, so not in its figures.csv
        rows = figures_of(truth[report.period], [(report.family, report.org_code)])
        assert len(rows) == len(figs) > 0, report
        assert rows["figure"].tolist() == figs["figure"].tolist()
        assert (rows["value"].astype(float) == figs["value"]).all(), report


# --- the ground truth and the comparison ----------------------------------------------------


@pytest.mark.parametrize("period", SAMPLE_PERIODS)
def test_ground_truth_is_a_figures_table(period: str) -> None:
    frame = read_figures_csv(backtest_path(period))
    assert list(frame.columns) == FIGURE_COLUMNS
    assert set(frame["period"]) == {period}
    assert frame["value"].dtype == "float64"
    assert not frame.duplicated(["notebook", "org_code", "figure"]).any()
    assert len(frame) > 400


def _frame(value: float = 274.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2010-11-M10", "2010-11-M10"],
            "notebook": ["regional_outturn", "regional_outturn"],
            "org_code": ["Q36", "Q36"],
            "figure": ["region_forecast_outturn_gbp_m", "trusts_significantly_behind_plan_count"],
            "value": [value, 8.0],
            "unit": ["gbp_m", "count"],
        }
    )


def test_equal_figures_pass() -> None:
    assert_figures_equal(_frame(), _frame())
    assert figures_diff(_frame(), _frame()) == []


def test_a_figure_moved_in_the_fourth_decimal_fails() -> None:
    with pytest.raises(AssertionError, match=r"region_forecast_outturn_gbp_m: got 274\.0001"):
        assert_figures_equal(_frame(274.0001), _frame())


def test_a_changed_dtype_fails() -> None:
    ints = _frame().astype({"value": "int64"})
    assert figures_diff(ints, _frame()) == []  # the same numbers ...
    with pytest.raises(AssertionError, match="dtype"):  # ... but not the same table
        assert_figures_equal(ints, _frame())


def test_a_missing_or_extra_figure_is_named() -> None:
    short = _frame().iloc[:1]
    assert figures_diff(short, _frame()) == [
        "2010-11-M10/regional_outturn/Q36/trusts_significantly_behind_plan_count: missing "
        "(expected 8.0)"
    ]
    with pytest.raises(AssertionError, match="missing"):
        assert_figures_equal(short, _frame())
    assert "not in the ground truth" in figures_diff(_frame(), short)[0]


def test_read_figures_csv_round_trips_and_refuses_other_tables(tmp_path: Path) -> None:
    good = tmp_path / "figures.csv"
    good.write_text(
        "period,notebook,org_code,figure,value,unit\n"
        "2010-11-M10,regional_outturn,Q36,region_forecast_outturn_gbp_m,274.0000,gbp_m\n"
        "2010-11-M10,regional_outturn,Q36,trusts_significantly_behind_plan_count,8,count\n",
        encoding="utf-8",
    )
    assert_figures_equal(read_figures_csv(good), _frame())
    bad = tmp_path / "bad.csv"
    bad.write_text("period,figure,value\n2010-11-M10,x,1\n", encoding="utf-8")
    with pytest.raises(GoldenError, match="columns"):
        read_figures_csv(bad)


def test_figures_of_keeps_the_chosen_reports_in_order() -> None:
    frame = pd.concat([_frame(), _frame().assign(org_code="NCL")], ignore_index=True)
    chosen = figures_of(frame, [("regional_outturn", "NCL")])
    assert chosen["org_code"].tolist() == ["NCL", "NCL"]
    assert chosen.index.tolist() == [0, 1]


def test_normalise_drops_times_paths_and_provenance_only() -> None:
    report = GoldenReport("2011-12-Q1", "provider_shortfall", "RF4")
    output = {"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}}
    nb = {
        "metadata": {
            "kernelspec": {"name": "nhs-kit"},
            "papermill": {
                "parameters": {"org_code": "RF4"},
                "start_time": "2024-01-01T00:00:00",
                "input_path": "/somewhere/notebooks/provider_shortfall.ipynb",
            },
            "nhs_kit": {"started": "2024-01-01T00:00:00", "git": {"commit": "abc"}},
        },
        "cells": [
            {
                "cell_type": "code",
                "id": "3f9a0c1e",
                "metadata": {"tags": ["injected-parameters"], "papermill": {"duration": 1.0}},
                "execution_count": 2,
                "outputs": [],
                "source": "org_code = 'RF4'",
            },
            {
                "cell_type": "code",
                "id": "setup",
                "metadata": {"execution": {"iopub.status.busy": "2024-01-01T00:00:00"}},
                "execution_count": 3,
                "outputs": [output],
                "source": "x",
            },
        ],
    }
    out = normalise(nb, report)
    assert out["metadata"]["papermill"] == {"parameters": {"org_code": "RF4"}}
    assert "nhs_kit" not in out["metadata"]
    assert out["metadata"]["kernelspec"] == {"name": "nhs-kit"}
    assert out["metadata"]["nhs_kit_golden"]["regenerate_with"] == "make golden"
    first, second = out["cells"]
    assert first["id"] == INJECTED_ID and first["metadata"] == {"tags": ["injected-parameters"]}
    assert second["metadata"] == {} and second["outputs"] == [output]
    assert second["execution_count"] == 3
    assert nb["cells"][0]["id"] == "3f9a0c1e"  # the input is not changed
