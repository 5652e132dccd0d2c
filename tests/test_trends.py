"""The reports read their month-by-month series with the Making Data Count rules, and a new
quarter dropped in extends the history without touching any earlier period's outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from kit_project import make_project, run_kit, tree_hashes

from helpers.report import open_report
from helpers.report.trends import position_trend, trend_sentence, variance_trend

Q1, M10, Q2 = "2011-12-Q1", "2010-11-M10", "2011-12-Q2"


def test_londons_variance_to_plan_runs_across_both_years() -> None:
    report = open_report("regional_outturn", Q1, "Q36")
    t = variance_trend(report)
    assert t.result is not None and t.months == 13  # 2010-11 M01-M10 and 2011-12 M01-M03
    labels = t.result.points["label"].tolist()
    assert labels[0] == "2010-11-M01" and labels[-1] == "2011-12-M03"
    assert report.figures()["spc_variance_improvement"] == 1  # the last months sit high
    assert report.figures()["spc_target_consistently_missed"] == 1
    assert "consistently behind plan" in report.summary_markdown()
    assert position_trend(report).result is not None
    assert variance_trend(report) is t  # computed once per report


def test_an_earlier_report_sees_only_its_own_months() -> None:
    t = variance_trend(open_report("regional_outturn", M10, "Q36"))
    assert t.months == 10 and t.result is not None and t.result.trial


def test_an_organisation_opened_this_year_has_trial_limits_said_in_words() -> None:
    report = open_report("provider_shortfall", Q1, "RY9")  # from April 2011: three months
    text = trend_sentence(variance_trend(report), "the trust's in-month variance to plan")
    assert text.endswith("(trial limits: only 3 months so far).")


def _narrow(root: Path) -> None:
    for path in (root / "params").glob("*.yaml"):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec["families"] = {"regional_outturn": {"orgs": ["Q36"], "options": {}}}
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")


def _next_quarter(root: Path) -> None:
    """2011-12-Q2 made from Q1: M04-M06 rows like M03's, the milestones still due dropped."""
    q1, q2 = root / "data" / "raw" / Q1, root / "data" / "raw" / Q2
    q2.mkdir()
    for path in q1.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["period"] = Q2
        if "month" in frame:
            last = frame.loc[frame["month"] == "M03"]
            frame = pd.concat([frame, *(last.assign(month=m) for m in ("M04", "M05", "M06"))])
        if path.stem == "milestones":
            frame = frame.loc[frame["status"] != "not_yet_due"]
        frame.to_csv(q2 / path.name, index=False)
    spec = yaml.safe_load((root / "params" / f"{Q1}.yaml").read_text(encoding="utf-8"))
    spec["period"] = Q2
    (root / "params" / f"{Q2}.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")


def _outputs(root: Path, period: str) -> dict[str, str]:
    """A period's outputs, less its run logs (each run adds one; nothing else may change)."""
    hashes = tree_hashes(root / "outputs" / period)
    return {k: v for k, v in hashes.items() if not k.startswith("logs/")}


@pytest.mark.slow
def test_a_new_quarter_extends_the_history_without_touching_earlier_outputs(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path / "kit")
    _narrow(root)
    first = run_kit(root, "reports", "--jobs", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    before = {p: _outputs(root, p) for p in (M10, Q1)}
    _next_quarter(root)
    second = run_kit(root, "reports", "--jobs", "2")
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"{M10}: 1 reports, 1 up to date, 0 to run" in second.stderr
    assert f"{Q1}: 1 reports, 1 up to date, 0 to run" in second.stderr
    assert {p: _outputs(root, p) for p in (M10, Q1)} == before
    figures = pd.read_csv(root / "outputs" / Q2 / "figures.csv")
    assert "spc_variance_concern" in set(figures["figure"])
    nb = (root / "outputs" / Q2 / "regional_outturn" / "Q36.ipynb").read_text(encoding="utf-8")
    assert "2011-12-M06" in nb  # the chart's text form lists the new months
