"""Board-style text: £m formatting, variance phrases and each family's summary paragraph."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import metrics, narrative
from helpers.data.period_data import PeriodData
from helpers.data.store import load_period
from helpers.report import (
    cluster_milestone_slippage,
    pct_support_needs,
    provider_shortfall,
    regional_outturn,
)


@pytest.fixture(scope="module")
def m10() -> PeriodData:
    return load_period("2010-11-M10")


@pytest.fixture(scope="module")
def q1() -> PeriodData:
    return load_period("2011-12-Q1")


def test_regional_summary_for_london_m10(m10: PeriodData) -> None:
    text = narrative.regional_summary(
        regional_outturn.headline_figures(m10), area="London", year="2010-11", previous_month="M09"
    )
    assert text.startswith("London forecasts a surplus of £274.0m for 2010-11, £196.0m below plan.")
    assert "the SHA's own budgets forecast a surplus of £184.0m (£145.0m below plan)" in text
    assert "NHS trusts forecast a deficit of £38.0m (£58.0m below plan)" in text
    assert "The forecast is down £23.9m since M09." in text
    assert "Providers forecast CIP savings of £362.0m" in text
    assert "17.0% short of plan (4.6% of turnover)" in text
    assert "PCTs forecast QIPP savings of £391.7m" in text
    assert "14.0% short of plan (2.8% of resources)" in text
    assert "Eight NHS trusts are significantly behind plan and eight PCTs cannot" in text


def test_regional_summary_for_a_cluster(q1: PeriodData) -> None:
    figs = regional_outturn.headline_figures(q1, "NCL")
    text = narrative.regional_summary(figs, area="North Central London", year="2011-12")
    assert text.startswith("North Central London's PCTs forecast a surplus of £20.5m for 2011-12")
    assert "Two of its PCTs need support" in text


def test_provider_summaries(m10: PeriodData) -> None:
    table = metrics.trust_shortfall(m10)
    london = narrative.provider_summary_london(provider_shortfall.headline_figures(m10), table, 1.0)
    assert "London's 25 NHS trusts together forecast £58.0m below plan." in london
    assert "Eight trusts are significantly behind plan" in london
    assert "Barking Havering and Redbridge University Hospitals" in london
    rf4 = narrative.provider_summary_trust(
        provider_shortfall.headline_figures(m10, "RF4"), table, "RF4", 1.0
    )
    assert "forecasts a deficit of £11.7m, £12.9m below plan (2.8% of turnover)" in rf4
    assert "it is significantly behind plan." in rf4
    assert "ranks 2nd of London's 25 NHS trusts" in rf4
    assert "CIP slippage (£6.7m adverse)" in rf4


def test_trust_on_plan_is_not_behind(q1: PeriodData) -> None:
    table = metrics.trust_shortfall(q1)
    text = narrative.provider_summary_trust(
        provider_shortfall.headline_figures(q1, "RNH"), table, "RNH", 1.0
    )
    assert "on plan" in text
    assert "not significantly behind plan (threshold 1.0% of turnover)" in text


def test_driver_phrase_lists_non_zero_drivers_largest_first() -> None:
    row = pd.Series(
        {
            "driver_cip_slippage_gbp_m": -1.0,
            "driver_activity_above_plan_gbp_m": -3.0,
            "driver_premium_costs_gbp_m": 0.0,
            "driver_restructuring_gbp_m": 0.02,
            "driver_other_gbp_m": 2.0,
        }
    )
    assert narrative.driver_phrase(row) == (
        "activity above plan (£3.0m adverse), other items (£2.0m favourable) and CIP slippage "
        "(£1.0m adverse)"
    )


def test_pct_summaries(m10: PeriodData, q1: PeriodData) -> None:
    london = narrative.pct_summary_london(
        pct_support_needs.headline_figures(m10), metrics.pct_support(m10)
    )
    assert london.startswith(
        "Eight of London's 31 PCTs cannot break even without support from the London "
        "Challenged Trust Board: Barking and Dagenham, Barnet, Enfield, Haringey, Harrow, "
        "Hounslow, Sutton and Merton and Waltham Forest."
    )
    haringey = narrative.pct_summary_org(
        pct_support_needs.headline_figures(m10, "5C9"), "Haringey Teaching PCT"
    )
    assert "including £28.2m of London Challenged Trust Board support" in haringey
    assert "Without support it would report a deficit of £28.0m" in haringey
    camden = narrative.pct_summary_org(pct_support_needs.headline_figures(m10, "5K7"), "Camden PCT")
    assert "it breaks even" in camden
    assert "support" not in camden.split(".")[0]
    waltham = narrative.pct_summary_org(
        pct_support_needs.headline_figures(q1, "5NC"), "Waltham Forest PCT"
    )
    assert "66.7% of its £15.0m plan" in waltham


def test_cluster_summaries(q1: PeriodData) -> None:
    london = narrative.cluster_summary(
        cluster_milestone_slippage.headline_figures(q1),
        area="London",
        when="quarter 1 2011-12 (to June 2011)",
        met_clusters=["North Central London", "Inner North East London"],
    )
    assert "against a year-to-date plan of £59.8m, £2.6m below plan" in london
    assert "Two of the clusters fully met their savings target" in london
    assert "Of 129 QIPP programme milestones due, 107 were met and 22 missed" in london
    swl = narrative.cluster_summary(
        cluster_milestone_slippage.headline_figures(q1, "SWL"), area="SWL", when="Q1"
    )
    assert "It did not meet its savings target to date." in swl
    assert "16 were met and 0 missed" in swl


def test_no_milestones_sentence() -> None:
    text = narrative.no_milestones_sentence("2010-11")
    assert text.startswith("There is no QIPP milestone tracking for 2010-11")
    assert "\n" not in text


def test_delays_summary(q1: PeriodData) -> None:
    text = narrative.delays_summary(metrics.milestone_delays(q1))
    assert text.startswith("22 milestones were missed; 20 of them slipped by two months or less.")
    assert "The commonest reasons were awaiting agreement (15) and awaiting guidance (5)." in text
    assert "Out-of-hours primary care strategy in ONEL (6 months, awaiting agreement)" in text
    assert narrative.delays_summary(metrics.milestone_delays(q1, "SWL")) == (
        "No milestone due by the end of the period was missed."
    )
