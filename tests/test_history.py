"""The history layer: every month once, the latest return winning, in-month values, incremental."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fixtures_returns import ReturnsKit

from helpers.data import history, period_data
from helpers.data.history import History, monthly_total, resolve
from helpers.data.history_store import build_history, history_for, load_history
from helpers.data.periods import Period
from helpers.data.store import load_period
from helpers.errors import NoDataError
from helpers.paths import PROJ_ROOT, ProjectPaths

SAMPLE_RAW = PROJ_ROOT / "data" / "raw"
SAMPLE_REFERENCE = PROJ_ROOT / "data" / "reference"


def _kit(root: Path, period: str) -> ReturnsKit:
    """The tiny fixture period (M01-M03 of 2011-12) written as the return ``period``."""
    kit = ReturnsKit(root, period=period)
    for rows in kit.tables.values():
        for row in rows:
            row["period"] = period
    return kit


def _dirs(kit: ReturnsKit) -> dict[str, Path]:
    return {
        "raw_dir": kit.raw_dir,
        "processed_dir": kit.processed_dir,
        "reference_dir": kit.reference_dir,
    }


def _rj2(history: History) -> pd.DataFrame:
    fp = history.financial_position
    return fp.loc[fp["org_code"] == "RJ2"].set_index("month")


# --- the sample: every month once, with its source return, in time order ------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> History:
    processed = tmp_path_factory.mktemp("processed")
    return load_history(raw_dir=SAMPLE_RAW, processed_dir=processed, reference_dir=SAMPLE_REFERENCE)


def test_sample_history_has_every_month_once_with_its_source(sample: History) -> None:
    fp = sample.financial_position
    assert not fp.duplicated(["org_code", "month_period"]).any()
    m10 = load_period("2010-11-M10").financial_position
    q1 = load_period("2011-12-Q1").financial_position
    assert len(fp) == len(m10) + len(q1)
    sources = fp.groupby("financial_year")["source_period"].unique()
    assert [list(s) for s in sources] == [["2010-11-M10"], ["2011-12-Q1"]]
    assert (fp["replaced"] == "").all()  # the two sample returns share no month
    sb = sample.sha_budgets
    assert len(sb) == 3 * 13 and not sb.duplicated(["budget_line", "month_period"]).any()


def test_series_run_across_financial_years_in_time_order(sample: History) -> None:
    rf4 = sample.financial_position.loc[lambda f: f["org_code"] == "RF4", "month_period"]
    expected = [f"2010-11-M{m:02d}" for m in range(1, 11)] + [
        f"2011-12-M{m:02d}" for m in range(1, 4)
    ]
    assert list(rf4) == expected
    total = monthly_total(sample, "in_month_actual_gbp_m")
    assert list(total.index) == expected


def test_in_month_values_add_up_to_the_year_to_date(sample: History) -> None:
    fp = sample.financial_position
    sums = fp.groupby(["org_code", "financial_year"])["in_month_actual_gbp_m"].sum()
    last = fp.groupby(["org_code", "financial_year"])["ytd_actual_gbp_m"].last()
    pd.testing.assert_series_equal(sums.round(6), last.round(6), check_names=False)
    m01 = fp.loc[fp["month"] == "M01"]
    assert (m01["in_month_actual_gbp_m"] == m01["ytd_actual_gbp_m"]).all()
    assert m01["forecast_movement_gbp_m"].isna().all()  # no earlier forecast in the year


def test_as_of_the_earlier_period_holds_only_its_months(sample: History) -> None:
    early = sample.as_of("2010-11-M10")
    assert set(early.financial_position["financial_year"]) == {"2010-11"}
    assert early.returns == (Period.parse("2010-11-M10"),)
    with pytest.raises(NoDataError, match="2011-12-M02"):
        sample.as_of("2011-12-M02")


# --- a re-submitted month: the later return wins, and the history says which ---------------


def test_a_later_return_replaces_a_month_and_the_earlier_view_keeps_the_old(
    tmp_path: Path,
) -> None:
    early = _kit(tmp_path, "2011-12-M03")  # M03 sorts before Q1, which ends on the same month
    early.set("financial_position", "ytd_actual_gbp_m", "(0.5)", org_code="RJ2", month="M02")
    early.write()
    later = _kit(tmp_path, "2011-12-Q1")  # RJ2's M02 year to date is (0.4) here
    later.write()

    history = load_history(**_dirs(later))
    rj2 = _rj2(history)
    assert list(rj2["source_period"]) == ["2011-12-Q1"] * 3
    assert list(rj2["replaced"]) == ["2011-12-M03"] * 3
    assert list(rj2["ytd_actual_gbp_m"]) == [-0.2, -0.4, -0.6]
    assert list(rj2["in_month_actual_gbp_m"]) == [-0.2, -0.2, -0.2]
    assert list(rj2["in_month_plan_gbp_m"]) == [0.1, 0.1, 0.1]
    assert list(rj2["in_month_variance_gbp_m"]) == [-0.3, -0.3, -0.3]

    before = _rj2(history.as_of("2011-12-M03"))
    assert list(before["source_period"]) == ["2011-12-M03"] * 3
    assert list(before["replaced"]) == [""] * 3
    assert list(before["in_month_actual_gbp_m"]) == [-0.2, -0.3, -0.1]


def test_forecast_movement_is_the_change_of_a_level_not_an_in_month_value(
    tmp_path: Path,
) -> None:
    kit = _kit(tmp_path, "2011-12-Q1")
    kit.set("financial_position", "forecast_outturn_gbp_m", "(4.0)", org_code="RJ2", month="M02")
    kit.write()
    rj2 = _rj2(load_history(**_dirs(kit)))
    assert list(rj2["forecast_outturn_gbp_m"]) == [-3.0, -4.0, -3.0]
    assert rj2["forecast_movement_gbp_m"].tolist()[1:] == [-1.0, 1.0]
    assert pd.isna(rj2["forecast_movement_gbp_m"].iloc[0])


def test_a_first_month_after_m01_is_its_own_in_month_value_and_a_gap_is_empty() -> None:
    rows = pd.DataFrame(
        {
            "org_code": ["RYX"] * 3,
            "financial_year": ["2011-12"] * 3,
            "month": ["M04", "M05", "M07"],  # opened in July; M06 missing
            "source_period": ["2011-12-M07"] * 3,
            "ytd_plan_gbp_m": [1.0, 2.0, 4.0],
            "ytd_actual_gbp_m": [1.5, 2.5, 5.0],
            "forecast_outturn_gbp_m": [3.0, 3.5, 4.0],
        }
    )
    out = resolve(rows, "financial_position")
    assert out["in_month_actual_gbp_m"].tolist()[:2] == [1.5, 1.0]
    assert pd.isna(out["in_month_actual_gbp_m"].iloc[2])
    assert pd.isna(out["forecast_movement_gbp_m"].iloc[2])


# --- built once, rebuilt only when a period layer changes ---------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_histories_of_one_layer_resolve_a_table_once_and_hand_out_copies(
    sample: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the warm fork server resolves, every kernel it forks reads without resolving."""
    monkeypatch.setattr(period_data, "_SHARED", {})
    calls: list[str] = []
    real = history.resolve
    monkeypatch.setattr(history, "resolve", lambda rows, t, p: calls.append(t) or real(rows, t, p))
    first, second = sample.as_of("2010-11-M10"), sample.as_of("2010-11-M10")
    table = first.financial_position
    table.loc[:, "ytd_actual_gbp_m"] = 0.0  # a report changes its copy in place
    pd.testing.assert_frame_equal(
        second.financial_position,
        real(
            sample.submitted["financial_position"],
            "financial_position",
            Period.parse("2010-11-M10"),
        ),
    )
    assert calls == ["financial_position"]  # once, for both
    assert not sample.as_of("2011-12-Q1").financial_position.empty
    assert calls == ["financial_position"] * 2  # another as_at is another table
    unknown = History(first.returns, first.submitted, first.as_at)  # no source: its own
    assert not unknown.financial_position.empty
    assert len(calls) == 3


def test_history_is_reused_until_a_return_changes_and_extended_by_a_new_one(
    tmp_path: Path,
) -> None:
    early = _kit(tmp_path, "2011-12-M03")
    early.write()
    folder = build_history(**_dirs(early))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["returns"] == ["2011-12-M03"] and manifest["refused"] == []
    assert sorted(manifest["layers"]) == ["2011-12-M03"]
    before = _snapshot(folder)
    assert build_history(**_dirs(early)) == folder
    assert _snapshot(folder) == before  # same bytes, same modification times

    early.set("financial_position", "ytd_actual_gbp_m", "(0.9)", org_code="RJ2", month="M03")
    early.write()
    build_history(**_dirs(early))
    assert _snapshot(folder)["financial_position.parquet"] != before["financial_position.parquet"]
    old_view = _rj2(load_history(**_dirs(early)))

    _kit(tmp_path, "2011-12-Q1").write()  # a new return dropped in
    history = load_history(**_dirs(early))
    assert [str(p) for p in history.returns] == ["2011-12-M03", "2011-12-Q1"]
    pd.testing.assert_frame_equal(_rj2(history.as_of("2011-12-M03")), old_view)


def test_a_refused_period_is_left_out_and_listed(tmp_path: Path) -> None:
    _kit(tmp_path, "2011-12-M03").write()
    bad = _kit(tmp_path, "2011-12-Q1")
    bad.set("financial_position", "ytd_actual_gbp_m", "lots", org_code="RJ2", month="M02")
    bad.write()
    folder = build_history(**_dirs(bad))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["refused"] == ["2011-12-Q1"] and manifest["returns"] == ["2011-12-M03"]
    with pytest.raises(NoDataError, match="2011-12-Q1"):
        load_history(**_dirs(bad)).as_of("2011-12-Q1")


def test_history_for_a_returns_dir_lives_beside_its_processed_layers(tmp_path: Path) -> None:
    project = ProjectPaths.under(tmp_path / "project")
    elsewhere = _kit(tmp_path / "elsewhere", "2011-12-Q1")
    elsewhere.write()
    shutil.copytree(elsewhere.reference_dir, project.reference)
    project.raw.mkdir(parents=True)
    history = history_for("2011-12-Q1", elsewhere.raw_dir, project)
    assert history.as_at == Period.parse("2011-12-Q1")
    assert set(history.financial_position["org_code"]) == {"RJ2", "RRU", "5A7", "5K7"}
    built = list((project.processed / "elsewhere").glob("*/history/manifest.json"))
    assert len(built) == 1


def test_a_layers_new_manifest_drops_the_tables_shared_for_its_old_one(
    sample: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running process (``make watch``) keeps only the layer's current tables."""
    monkeypatch.setattr(period_data, "_SHARED", {})
    assert sample.source is not None
    folder, digest = sample.source
    old = History(sample.returns, sample.submitted, sample.as_at, source=(folder, "old"))
    assert not old.financial_position.empty
    assert not sample.financial_position.empty
    assert {k[:2] for k in period_data._SHARED} == {(folder, digest)}
