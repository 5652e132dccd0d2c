"""Unit tests of the headline computations on a small hand-built period."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import metrics
from helpers.data.organisations import load_reference
from helpers.data.period_data import PeriodData, empty_frame, tidy_frame
from helpers.data.periods import Period
from helpers.report import pct_support_needs, provider_shortfall, regional_outturn

P = "2011-12-Q1"


def _fp(org: str, plan: float, fot: float, **kw: float) -> dict[str, object]:
    row: dict[str, object] = {
        "period": P,
        "month": "M03",
        "org_code": org,
        "ytd_plan_gbp_m": plan / 4,
        "ytd_actual_gbp_m": fot / 4,
        "annual_plan_gbp_m": plan,
        "forecast_outturn_gbp_m": fot,
        "prior_year_outturn_gbp_m": 1.0,
        "turnover_gbp_m": None,
        "resource_limit_gbp_m": None,
        "lctb_support_gbp_m": 0.0,
        "non_recurrent_gbp_m": 0.0,
        "acute_overperformance_gbp_m": 0.0,
        "cluster_transition_cost_gbp_m": 0.0,
    }
    row.update(kw)
    return row


def _sav(
    org: str, programme: str, plan: float, fc: float, ytd_plan: float, ytd_act: float
) -> dict[str, object]:
    return {
        "period": P,
        "org_code": org,
        "programme": programme,
        "category": "productivity",
        "annual_plan_gbp_m": plan,
        "ytd_plan_gbp_m": ytd_plan,
        "ytd_actual_gbp_m": ytd_act,
        "forecast_gbp_m": fc,
        "forecast_recurrent_gbp_m": fc / 2,
    }


@pytest.fixture(scope="module")
def data() -> PeriodData:
    fp = pd.DataFrame(
        [
            _fp("RF4", 2.0, -10.9, turnover_gbp_m=400.0),  # -12.9 = -3.2% of turnover
            _fp("RJ7", 1.0, -3.0, turnover_gbp_m=500.0),  # -4.0 = -0.8%
            _fp(
                "5C9",
                0.0,
                0.5,
                resource_limit_gbp_m=430.0,
                lctb_support_gbp_m=28.5,
                non_recurrent_gbp_m=1.0,
            ),  # -28.0 before support
            _fp("5K7", 2.0, 3.0, resource_limit_gbp_m=470.0),
        ]
    )
    sha = pd.DataFrame(
        [
            {
                "period": P,
                "month": "M03",
                "budget_line": line,
                "ytd_plan_gbp_m": 1.0,
                "ytd_actual_gbp_m": 1.0,
                "annual_plan_gbp_m": plan,
                "forecast_outturn_gbp_m": fot,
                "prior_year_outturn_gbp_m": 0.0,
            }
            for line, plan, fot in (
                ("admin", 10.0, 9.0),
                ("reserves", 100.0, 80.0),
                ("central_budgets", 50.0, 50.0),
            )
        ]
    )
    sav = pd.DataFrame(
        [
            _sav("RF4", "CIP", 20.0, 15.0, 5.0, 4.0),
            _sav("RJ7", "CIP", 30.0, 27.0, 7.0, 7.0),
            _sav("5C9", "QIPP", 10.0, 9.0, 2.0, 2.5),
            _sav("5K7", "QIPP", 12.0, 8.0, 3.0, 2.5),
        ]
    )
    drv = pd.DataFrame(
        [
            {"period": P, "org_code": "RF4", "driver": "cip_slippage", "amount_gbp_m": -5.0},
            {"period": P, "org_code": "RF4", "driver": "other", "amount_gbp_m": -7.9},
            {"period": P, "org_code": "RJ7", "driver": "other", "amount_gbp_m": -4.0},
        ]
    )
    return PeriodData(
        period=Period.parse(P),
        financial_position=tidy_frame("financial_position", fp),
        sha_budgets=tidy_frame("sha_budgets", sha),
        savings=tidy_frame("savings", sav),
        variance_drivers=tidy_frame("variance_drivers", drv),
        milestones=empty_frame("milestones"),
        reference=load_reference(),
    )


def test_formulas() -> None:
    assert metrics.variance(274.0, 470.0) == -196.0
    assert metrics.shortfall_pct(436.1, 362.0) == pytest.approx(16.99, abs=0.01)
    assert metrics.share_pct(362.0, 7869.6) == pytest.approx(4.6, abs=0.001)


def test_sector_summary_adds_groups_into_london(data: PeriodData) -> None:
    s = metrics.sector_summary(data)
    assert list(s.index) == ["NHS trusts", "PCTs", "SHA", "London"]
    assert s.loc["NHS trusts", "forecast_outturn_gbp_m"] == pytest.approx(-13.9)
    assert s.loc["PCTs", "annual_plan_gbp_m"] == pytest.approx(2.0)
    assert s.loc["SHA", "forecast_outturn_gbp_m"] == pytest.approx(139.0)
    assert s.loc["London", "forecast_outturn_gbp_m"] == pytest.approx(-13.9 + 3.5 + 139.0)
    assert s.loc["London", "variance_to_plan_gbp_m"] == pytest.approx((-13.9 + 3.5 + 139.0) - 165.0)


def test_significantly_behind_plan_uses_the_threshold(data: PeriodData) -> None:
    t = metrics.trust_shortfall(data, threshold_pct=1.0).set_index("org_code")
    assert t.loc["RF4", "variance_pct_of_turnover"] == pytest.approx(-3.225)
    assert bool(t.loc["RF4", "significantly_behind_plan"])
    assert not bool(t.loc["RJ7", "significantly_behind_plan"])
    t2 = metrics.trust_shortfall(data, threshold_pct=0.5).set_index("org_code")
    assert bool(t2.loc["RJ7", "significantly_behind_plan"])
    assert t.loc["RF4", "cip_shortfall_pct"] == pytest.approx(25.0)
    assert t.loc["RF4", "driver_cip_slippage_gbp_m"] == -5.0
    assert t.loc["RF4", "driver_restructuring_gbp_m"] == 0.0 or pd.isna(
        t.loc["RF4", "driver_restructuring_gbp_m"]
    )


def test_pct_needs_support_before_lctb_support(data: PeriodData) -> None:
    t = metrics.pct_support(data).set_index("org_code")
    assert t.loc["5C9", "outturn_before_support_gbp_m"] == pytest.approx(-28.0)
    assert t.loc["5C9", "underlying_gbp_m"] == pytest.approx(-29.0)
    assert bool(t.loc["5C9", "needs_support"]) and not bool(t.loc["5K7", "needs_support"])
    assert t.loc["5K7", "qipp_forecast_pct_of_plan"] == pytest.approx(66.6667)


def test_cluster_target_met_when_ytd_actual_reaches_plan(data: PeriodData) -> None:
    c = metrics.cluster_savings(data)
    assert bool(c.loc["NCL", "savings_target_met"])  # 2.5 + 2.5 = 5.0 vs 5.0 planned
    assert c.loc["NCL", "ytd_variance_gbp_m"] == 0.0


def test_family_figures_are_rounded_plain_numbers(data: PeriodData) -> None:
    figs = regional_outturn.headline_figures(data)
    assert figs["trusts_significantly_behind_plan_count"] == 1
    assert figs["pcts_needing_support_count"] == 1
    assert figs["providers_savings_shortfall_pct"] == pytest.approx(16.0)
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in figs.values())
    rf4 = provider_shortfall.headline_figures(data, "RF4")
    assert rf4["variance_to_plan_gbp_m"] == -12.9 and rf4["significantly_behind_plan"] == 1
    assert pct_support_needs.headline_figures(data, "5C9")["needs_support"] == 1


# --- ranking windows ------------------------------------------------------------------------


def _ranking(n: int) -> pd.DataFrame:
    return pd.DataFrame({"org_code": [f"T{i:03d}" for i in range(1, n + 1)]})


def test_rank_window_keeps_a_short_ranking_whole() -> None:
    window = metrics.rank_window(_ranking(25), "T010", limit=40)
    assert len(window.rows) == 25 and (window.first, window.last, window.total) == (1, 25, 25)
    assert not window.partial and window.label("trusts") == ""


@pytest.mark.parametrize(
    ("subject", "first"),
    [(None, 1), ("T001", 1), ("T003", 1), ("T100", 95), ("T248", 241), ("T250", 241), ("X", 1)],
)
def test_rank_window_centres_on_the_subject_within_the_ranking(
    subject: str | None, first: int
) -> None:
    window = metrics.rank_window(_ranking(250), subject, limit=10)
    assert len(window.rows) == 10 and window.first == first and window.total == 250
    assert window.rows["org_code"].tolist() == [f"T{i:03d}" for i in range(first, first + 10)]
    if subject in window.rows["org_code"].tolist() or subject is None:
        assert window.label("trusts") == f"ranked {first}-{first + 9} of 250 trusts"


def test_rank_window_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        metrics.rank_window(_ranking(3), None, limit=0)
