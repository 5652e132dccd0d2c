"""What changed since the last run: moved figures, changed inputs, history, the kit's version."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from kit_project import make_project, run_kit

from helpers.data.workbook import sheet_hashes
from helpers.paths import PROJ_ROOT
from helpers.pipeline.changes import (
    HISTORY_LIMIT,
    InputChange,
    PreviousRun,
    changes_csv,
    compare_runs,
    history,
    input_changes,
)
from helpers.version import kit_version

PERIOD = "2011-12-Q1"


def _figures(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(PERIOD, "provider_shortfall", org, fig, value, unit) for org, fig, value, unit in rows],
        columns=["period", "notebook", "org_code", "figure", "value", "unit"],
    )


def test_a_first_run_has_nothing_to_compare_with() -> None:
    changes = compare_runs(PreviousRun(None), _figures([("RAL", "plan_gbp_m", 1.0, "gbp_m")]), {})
    assert changes.first_run and changes.moved.empty
    assert changes.summary(PERIOD) == f"{PERIOD}: first run, so nothing to compare with"


def test_moved_appeared_and_gone_figures_are_listed_with_the_inputs_behind_them() -> None:
    old = _figures(
        [
            ("RAL", "plan_gbp_m", 1.0, "gbp_m"),
            ("RAL", "cip_shortfall_pct", 12.5, "pct"),
            ("RF4", "plan_gbp_m", -3.0, "gbp_m"),
        ]
    )
    new = _figures(
        [
            ("RAL", "plan_gbp_m", 1.0, "gbp_m"),
            ("RAL", "cip_shortfall_pct", 12.75, "pct"),
            ("RJ7", "plan_gbp_m", 2.0, "gbp_m"),
        ]
    )
    before = {"returns": {"savings.csv": "a", "old.csv": "x"}, "code": {"helpers": "h"}}
    after = {"returns": {"savings.csv": "b", "new.csv": "y"}, "code": {"helpers": "h"}}
    changes = compare_runs(PreviousRun(old, before), new, after)
    assert changes.moved[["org_code", "figure"]].values.tolist() == [
        ["RAL", "cip_shortfall_pct"],
        ["RF4", "plan_gbp_m"],
        ["RJ7", "plan_gbp_m"],
    ]
    text = changes_csv(changes)
    assert text.splitlines()[1:] == [
        f"{PERIOD},provider_shortfall,RAL,cip_shortfall_pct,pct,12.5000,12.7500,0.2500",
        f"{PERIOD},provider_shortfall,RF4,plan_gbp_m,gbp_m,-3.0000,,",
        f"{PERIOD},provider_shortfall,RJ7,plan_gbp_m,gbp_m,,2.0000,",
    ]
    assert [str(c) for c in changes.inputs] == [
        "return new.csv added",
        "return old.csv removed",
        "return savings.csv changed",
    ]
    assert changes.summary(PERIOD) == (
        f"{PERIOD}: 3 figures moved since the last run, for RAL, RF4 and RJ7 (return new.csv "
        "added, return old.csv removed and return savings.csv changed)"
    )


def test_nothing_moved_says_so_and_gives_a_header_only_file() -> None:
    same = _figures([("RAL", "plan_gbp_m", 1.0, "gbp_m")])
    changes = compare_runs(PreviousRun(same, {"lock": {"r": "1"}}), same, {"lock": {"r": "2"}})
    assert changes.summary(PERIOD) == (
        f"{PERIOD}: no figure moved since the last run (dependency lock r changed)"
    )
    assert changes_csv(changes).splitlines() == [
        "period,notebook,org_code,figure,unit,old_value,new_value,difference"
    ]


def test_input_groups_compare_name_by_name() -> None:
    assert input_changes({"sheets": {"a [x]": "1"}}, {"sheets": {"a [x]": "1"}}) == []
    assert input_changes({}, {"params": {"p.yaml": "1"}}) == [
        InputChange("params", "p.yaml", "added")
    ]


def test_the_history_is_bounded() -> None:
    changes = compare_runs(PreviousRun(None), _figures([]), {})
    past = [{"finished": str(i)} for i in range(HISTORY_LIMIT + 5)]
    kept = history(PreviousRun(None, history=past), changes, "now")
    assert len(kept) == HISTORY_LIMIT and kept[-1]["finished"] == "now"
    assert kept[0]["finished"] == str(6)


def test_a_workbook_sheet_edited_changes_that_sheet_hash_only(tmp_path: Path) -> None:
    book = tmp_path / "returns.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "savings"
    wb.active["A1"] = "period"
    wb.create_sheet("milestones")["A1"] = "period"
    wb.save(book)
    before = sheet_hashes(book)
    wb = openpyxl.load_workbook(book)
    wb["milestones"]["A2"] = "2011-12-Q1"
    wb.save(book)
    after = sheet_hashes(book)
    assert sorted(before) == ["returns.xlsx [milestones]", "returns.xlsx [savings]"]
    assert before["returns.xlsx [savings]"] == after["returns.xlsx [savings]"]
    assert before["returns.xlsx [milestones]"] != after["returns.xlsx [milestones]"]
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    assert sheet_hashes(tmp_path / "broken.xlsx") == {}


def test_the_version_is_pyprojects(tmp_path: Path) -> None:
    project = tomllib.loads((PROJ_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert kit_version() == project["project"]["version"]
    proc = run_kit(make_project(tmp_path, periods=(PERIOD,)), "--version")
    assert proc.stdout.strip() == f"nhs-kit {project['project']['version']}"
    changelog = (PROJ_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(
        rf"^## \[{re.escape(kit_version())}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M
    )
    assert "## [Unreleased]" in changelog


# --- a rerun after a resubmitted return (slow) --------------------------------------------


def _narrow(root: Path) -> None:
    """Only London's and RAL's provider report and London's regional one (quick reruns)."""
    import yaml

    path = root / "params" / f"{PERIOD}.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["families"] = {
        "regional_outturn": {"orgs": ["Q36"], "options": {"threshold_pct": 1.0}},
        "provider_shortfall": {"orgs": ["Q36", "RAL"], "options": {"threshold_pct": 1.0}},
    }
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")


def _resubmit_ral(root: Path, delta: float) -> None:
    """RAL's M03 forecast up by ``delta`` (and its 'other' driver, so the parts still add up)."""
    folder = root / "data" / "raw" / PERIOD
    fp = pd.read_csv(folder / "financial_position.csv", dtype=str, keep_default_na=False)
    at = (fp["org_code"] == "RAL") & (fp["month"] == "M03")
    fp.loc[at, "forecast_outturn_gbp_m"] = (
        f"{float(fp.loc[at, 'forecast_outturn_gbp_m'].item()) + delta:.1f}"
    )
    fp.to_csv(folder / "financial_position.csv", index=False)
    vd = pd.read_csv(folder / "variance_drivers.csv", dtype=str, keep_default_na=False)
    at = (vd["org_code"] == "RAL") & (vd["driver"] == "other")
    vd.loc[at, "amount_gbp_m"] = f"{float(vd.loc[at, 'amount_gbp_m'].item()) + delta:.1f}"
    vd.to_csv(folder / "variance_drivers.csv", index=False)


@pytest.mark.slow
def test_a_resubmitted_return_lists_exactly_the_figures_that_moved(tmp_path: Path) -> None:
    root = make_project(tmp_path / "kit", periods=(PERIOD,))
    _narrow(root)
    first = run_kit(root, "reports", "--jobs", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert f"{PERIOD}: first run, so nothing to compare with" in first.stderr
    out = root / "outputs" / PERIOD
    before = pd.read_csv(out / "figures.csv", dtype={"org_code": str})

    _resubmit_ral(root, 2.0)
    second = run_kit(root, "reports", "--jobs", "2")
    assert second.returncode == 0, second.stderr[-3000:]
    after = pd.read_csv(out / "figures.csv", dtype={"org_code": str})
    key = ["notebook", "org_code", "figure"]
    diff = before.merge(after, on=key, suffixes=("_old", "_new"))
    really = diff.loc[diff["value_old"] != diff["value_new"], key].values.tolist()
    listed = pd.read_csv(out / "changes.csv", dtype={"org_code": str})
    assert listed[key].values.tolist() == sorted(really)  # exactly those, in figures.csv order
    assert set(listed["org_code"]) == {"Q36", "RAL"}  # the trust, and London's totals
    ral = listed.set_index(["org_code", "figure"]).loc[("RAL", "forecast_outturn_gbp_m")]
    assert ral["difference"] == pytest.approx(2.0)
    moved_line = next(line for line in second.stderr.splitlines() if "moved since" in line)
    assert f"{len(listed)} figures moved since the last run, for Q36 and RAL" in moved_line
    assert "return financial_position.csv changed" in moved_line
    assert "return variance_drivers.csv changed" in moved_line
    assert "savings.csv" not in moved_line
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Changed since the last run" in page
    assert "Royal Free Hampstead NHS Trust (RAL)" in page.split("Changed since the last run")[1]
    assert "return financial_position.csv changed" in page
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [h["figures_moved"] for h in manifest["history"]] == [0, len(listed)]
    assert manifest["kit_version"] == kit_version()
    nb = json.loads((out / "provider_shortfall" / "RAL.ipynb").read_text(encoding="utf-8"))
    assert nb["metadata"]["nhs_kit"]["kit_version"] == kit_version()

    again = run_kit(root, "reports", "--jobs", "2")  # nothing changed: nothing runs
    assert f"{PERIOD}: every report up to date, so no figure moved" in again.stderr
    forced = run_kit(root, "reports", "--jobs", "2", "--force")  # rerun, same inputs
    assert f"{PERIOD}: no figure moved since the last run" in forced.stderr
    assert pd.read_csv(out / "changes.csv").empty
    assert "Changed since the last run" not in (out / "index.html").read_text(encoding="utf-8")
    shutil.rmtree(root)
