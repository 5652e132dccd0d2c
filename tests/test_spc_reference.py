"""The SPC module against NHSRplotthedots' own tests: their input vectors and expected outputs.

Source: the NHS-R community's R package NHSRplotthedots (MIT licence),
https://github.com/nhs-r-community/NHSRplotthedots, folder ``tests/testthat/``. Each test
names the file and commit its facts come from. Only the vectors and the expected results are
copied (as facts); the kit's code is its own. Where the kit deliberately differs, the test
says so and why.

``RNORM`` is R's ``rnorm(48)`` after ``set.seed(123)`` (Mersenne-Twister, inversion), the data
of several of their tests (``rnorm(20)``, ``rnorm(24)``, then ``rnorm(12, 5)`` and
``rnorm(12, -5)`` continue the same stream). Their snapshots print the first values to eight
digits (``-0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.1~``) and all twenty to three
significant figures; the means and limits below, to seven digits, match them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.errors import SeriesError
from helpers.spc import xmr
from helpers.spc.rules import first_rule, shift_points, trend_direction, two_of_three_points
from helpers.spc.summary import assurance

RNORM = [
    -0.5604756465522126,
    -0.23017748948327996,
    1.558708314149124,
    0.070508391424576,
    0.12928773516094624,
    1.715064986883281,
    0.4609162059892023,
    -1.265061234606534,
    -0.6868528518935261,
    -0.44566197009995806,
    1.2240817974394615,
    0.3598138270573638,
    0.40077145059405217,
    0.1106827159451197,
    -0.5558411347540749,
    1.7869131368030782,
    0.4978504782292394,
    -1.9666171566296382,
    0.7013559015636855,
    -0.47279140772793404,
    -1.0678237059868452,
    -0.21797491465829513,
    -1.0260044483072397,
    -0.7288912292911403,
    -0.6250392678492567,
    -1.6866933107424134,
    0.8377870444945247,
    0.15337311783651522,
    -1.1381369370119476,
    1.2538149210699268,
    0.42646422147681357,
    -0.29507148299227115,
    0.8951256610450222,
    0.8781334875330422,
    0.8215810816374871,
    0.688640254100091,
    0.5539176535375888,
    -0.06191171057672168,
    -0.30596266373991676,
    -0.3804710010123827,
    -0.6947069789205127,
    -0.20791727801959878,
    -1.2653963515682645,
    2.1689559653385126,
    1.2079619983049905,
    -1.1231085832033492,
    -0.402884835299076,
    -0.46665535362321886,
]

# R's improvement_direction -> the kit's figure-dictionary direction
DIRECTION = {"increase": "higher", "decrease": "lower", "neutral": "neither"}


def _spread(flags: list[int]) -> list[int]:
    """NHSRplotthedots' ``ptd_part_of_seven_trend``: a point is in a run of 7 when it or one
    of the next 6 points completes one (their rules flag only the 7th point; the kit flags the
    run). Keeps the sign of the completing flag."""
    padded = [*flags, *[0] * 6]
    return [next((f for f in padded[i : i + 7] if f), 0) for i in range(len(flags))]


def test_spread_matches_their_part_of_seven_trend() -> None:
    # test-ptd_calculate_point_type.R @ 8aac3239e90ce9ebeb9c3e61f56c207dfc37b225
    assert _spread([0] * 6) == [0] * 6
    assert [abs(f) for f in _spread([0] * 6 + [1, 0])] == [1] * 7 + [0]
    assert [abs(f) for f in _spread([0] * 7 + [1, 0])] == [0] + [1] * 7 + [0]
    assert [abs(f) for f in _spread([0] * 6 + [-1, 0])] == [1] * 7 + [0]
    assert [abs(f) for f in _spread([0] * 7 + [-1, 0])] == [0] + [1] * 7 + [0]


# --- tests/testthat/test-ptd_calculate_point_type.R @ 8aac3239e90ce9ebeb9c3e61f56c207dfc37b225


@pytest.mark.parametrize(
    ("side", "seventh_points"),
    [
        ([], []),
        ([1] * 6, [0] * 6),
        ([1] * 6 + [-1], [0] * 7),
        ([1] * 8 + [-1], [0] * 6 + [1, 1, 0]),
        ([-1] * 8 + [1], [0] * 6 + [1, 1, 0]),
        ([-1] + [1] * 8 + [-1], [0] * 7 + [1, 1, 0]),  # (their part_of_seven_trend block)
        ([1] + [-1] * 8 + [1], [0] * 7 + [1, 1, 0]),
    ],
)
def test_shift_seven_points_one_side_of_the_mean(
    side: list[int], seventh_points: list[int]
) -> None:
    flags = shift_points(np.array(side, dtype=int))
    assert flags.astype(int).tolist() == [abs(f) for f in _spread(seventh_points)]


@pytest.mark.parametrize(
    ("values", "seventh_points"),
    [
        ([], []),
        (list(range(1, 7)), [0] * 6),
        ([1, 2, 3, 3, 4, 5, 6], [0] * 7),  # a tie breaks the trend
        (list(range(1, 8)), [0] * 6 + [1]),
        ([2, *range(1, 8), 3], [0] * 7 + [1, 0]),
        (list(range(7, 0, -1)), [0] * 6 + [-1]),
        ([2, *range(7, 0, -1), 3], [0] * 7 + [-1, 0]),
    ],
)
def test_trend_of_seven_points(values: list[int], seventh_points: list[int]) -> None:
    assert trend_direction(np.array(values, dtype=float)).tolist() == _spread(seventh_points)


@pytest.mark.parametrize(
    ("close", "side", "in_window"),
    [
        ([], [], []),
        ([1, 0, 1], [1, 1, 1], [1, 1, 1]),
        ([0, 1, 1], [1, 1, 1], [1, 1, 1]),
        ([1, 1, 0], [1, 1, 1], [1, 1, 1]),
        ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 1, 1, 0, 0]),
        ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 1, 1, 1, 1, 0, 0]),
        # "ptd_two_in_three works as expected when points are on opposite sides of the mean"
        ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
        ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
        ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
        ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
        # their ptd_part_of_two_in_three block
        ([1, 0, 0, 1], [1] * 4, [0] * 4),
        ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 1, 1, 1]),
    ],
)
def test_two_of_three_close_to_a_limit(
    close: list[int], side: list[int], in_window: list[int]
) -> None:
    # Their ptd_two_in_three flags every point of a qualifying window and part_of_two_in_three
    # keeps the close ones; the kit's rule returns the close points of such windows directly.
    expected = [w & c for w, c in zip(in_window, close, strict=True)]
    got = two_of_three_points(np.array(close, dtype=bool), np.array(side, dtype=int))
    assert got.astype(int).tolist() == expected


# R's special cause labels -> the kit's (rule, high or low)
LABELS = {
    "7 Point Trend (Increasing)": ("trend", 1),
    "7 Points Above CL": ("shift", 1),
    "2 in 3 Below CL": ("two_of_three", -1),
    "Below LCL": ("beyond_limit", -1),
    "Common Cause": ("", 0),
}


def test_precedence_when_several_rules_flag_a_point() -> None:
    # "ptd_special_cause_type works as expected": their rule results are mocked; y = 1:8 rises,
    # so the two trend points are increasing (the kit is handed that direction directly).
    side = np.array([1] * 4 + [-1] * 4)
    beyond = np.array([0, 0, 0, 0, 0, 1, -1, 0]) != 0
    trend = np.array([1, 1, 0, 0, 0, 0, 0, 0])
    two_of_three = np.array([0, 0, 0, 0, 1, 0, 0, 0], dtype=bool)
    shift = np.array([0, 0, 1, -1, 0, 0, 0, 0]) != 0
    rules = first_rule(beyond, trend, two_of_three, shift)
    expected = [
        "7 Point Trend (Increasing)",
        "7 Point Trend (Increasing)",
        "7 Points Above CL",
        "7 Points Above CL",
        "2 in 3 Below CL",
        "Below LCL",
        "Below LCL",
        "Common Cause",
    ]
    directions = [
        (r, (t if r == "trend" else int(s)) if r else 0)
        for r, s, t in zip(rules, side, trend, strict=True)
    ]
    assert directions == [LABELS[e] for e in expected]


# --- test-ptd_spc_standard.R @ 8aac3239e9…, _snaps/ptd_spc_standard.md @ ea2177d4c7e276… --


def test_limits_with_screening_as_in_their_snapshot() -> None:
    r1 = xmr(RNORM[:20], screen_outliers=True)
    seg = r1.segments[0]
    assert seg.mean == pytest.approx(0.1416238, abs=5e-8)
    assert seg.lower == pytest.approx(-3.01138, abs=5e-6)
    assert seg.upper == pytest.approx(3.294627, abs=5e-7)
    assert not r1.points["beyond_limit"].any()
    assert r1.points["side"].tolist()[:15] == [-1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]


def test_an_outlier_screened_and_not_as_in_their_snapshot() -> None:
    y = list(RNORM[:20])
    y[14] = 10.0  # their data$y[15] <- 10
    r2 = xmr(y, screen_outliers=True)
    r3 = xmr(y, screen_outliers=False)
    for r, lower, upper in ((r2, -2.383666, 3.722497), (r3, -4.596625, 5.935457)):
        seg = r.segments[0]
        assert seg.mean == pytest.approx(0.6694159, abs=5e-8)
        assert seg.lower == pytest.approx(lower, abs=5e-7)
        assert seg.upper == pytest.approx(upper, abs=5e-7)
    side = [-1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, -1, -1, -1]
    assert r2.points["side"].tolist()[:14] == side
    assert (r3.segments[0].upper - r3.segments[0].lower) > (
        r2.segments[0].upper - r2.segments[0].lower
    )


def test_rebase_group_and_fixing_the_baseline() -> None:
    r = xmr(RNORM[:20], rebase_at=[10], screen_outliers=True)  # their rebase = 1 at row 11
    assert r.points["segment"].tolist() == [1] * 10 + [2] * 10
    s0 = xmr(RNORM[:20], screen_outliers=True).segments[0]
    s1 = xmr(RNORM[:20], screen_outliers=True, fix_after=12).segments[0]
    assert s1.lower != s0.lower and s1.upper != s0.upper


def test_two_of_three_on_opposite_sides_of_the_mean_is_common_cause() -> None:
    data = [1.0, -1.0] * 8
    data[14], data[15] = 5.5, -5.5  # two successive points close to opposite limits
    for screen in (True, False):  # their ptd_spc screens; the kit's default does not
        r = xmr(data, screen_outliers=screen)
        assert r.points["near_upper"].iloc[14] < 5.5 < r.points["upper"].iloc[14]
        assert r.points["point_type"].tolist()[-2:] == ["common_cause", "common_cause"]


# --- _snaps/ptd_spc.md @ 174380d653d7a169a76f99deebb9fc21ed5fbbd6 (summary()) --------------


@pytest.mark.parametrize(
    ("part", "mean", "lower", "upper"),
    [
        (slice(0, 20), 0.142, -3.01, 3.29),
        (slice(0, 10), 0.0746, -2.60, 2.75),  # facet 0
        (slice(10, 20), 0.209, -3.28, 3.70),  # facet 1
    ],
)
def test_summary_limits_of_each_facet(part: slice, mean: float, lower: float, upper: float) -> None:
    # Their facets are separate series: in the kit, one xmr() call each.
    r = xmr(RNORM[part], screen_outliers=True, better="higher")
    seg = r.segments[0]
    assert f"{seg.mean:.3g}" == f"{mean:.3g}"
    assert round(seg.lower, 2) == lower and round(seg.upper, 2) == upper
    assert (r.points["point_type"] == "common_cause").all()  # common_cause = n, 0 special
    assert r.variation.code == "common_cause"


def test_a_rebase_point_outside_the_series_is_refused() -> None:
    # Deliberate difference: their summary with rebase = 2020-01-01 (a day before the first
    # point) silently keeps one set of limits; the kit refuses a rebase point that is not a
    # point of the series, because a mistyped month would otherwise go unnoticed.
    with pytest.raises(SeriesError, match="rebase"):
        xmr(RNORM[:20], rebase_at=[-1])


# --- test-ptd_calculate_assurance_type.R @ 47af41fdbf71eb2edc7aa06e614fd78be1622984 -------


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("increase", ["fail", "pass", "inconsistent"]),
        ("decrease", ["pass", "fail", "inconsistent"]),
        ("neutral", ["neither"] * 3),  # theirs: NA
    ],
)
def test_assurance_against_the_limits(direction: str, expected: list[str]) -> None:
    limits = [(1.0, 3.0), (5.0, 7.0), (1.0, 5.0)]  # (lpl, upl); target 4
    got = [assurance(4.0, lo, up, DIRECTION[direction]).kind for lo, up in limits]
    assert got == expected
    assert assurance(None, 1.0, 3.0, "higher").kind == "none"  # theirs: NA without a target


def test_assurance_uses_the_latest_limits_after_a_rebase() -> None:
    # Their rows (lpl, upl) in three orders; the last row decides. In the kit the last row is
    # the latest segment: three segments of two points a, b whose limits, (a + b) / 2 ± 2.66 ×
    # |b - a|, are exactly their (lpl, upl).
    rows = [(1.0, 3.0), (5.0, 7.0), (1.0, 5.0)]
    for order, expected in (((0, 1, 2), "inconsistent"), ((1, 2, 0), "pass"), ((2, 0, 1), "fail")):
        y = []
        for lo, up in (rows[i] for i in order):
            mid, gap = (lo + up) / 2, (up - lo) / 2 / 2.66
            y += [mid - gap / 2, mid + gap / 2]
        r = xmr(y, rebase_at=[2, 4], target=4.0, better="lower")
        last = r.segments[-1]
        assert (round(last.lower, 9), round(last.upper, 9)) == rows[order[-1]]
        assert r.assurance.kind == expected


# --- test-ptd_add_short_group_warnings.R @ 8aac3239e90ce9ebeb9c3e61f56c207dfc37b225 -------


def test_trial_limits_below_twelve_points() -> None:
    assert xmr(RNORM[:11]).points["trial"].tolist() == [True] * 11
    assert xmr(RNORM[:12]).points["trial"].tolist() == [False] * 12
    a = xmr(RNORM[:40], rebase_at=[35])  # their facet a: groups of 35 and 5 points
    b = xmr(RNORM[:40], rebase_at=[20])  # facet b: 20 and 20
    assert a.points["trial"].tolist() == [False] * 35 + [True] * 5
    assert b.points["trial"].tolist() == [False] * 40


# --- test-ptd_add_rebase_column.R @ 04db768c0de8fbf6fe1d1b65289cf44db1addfec --------------


def test_rebase_at_dates() -> None:
    dates = pd.date_range("2020-01-02", periods=10, freq="D")
    series = pd.Series(RNORM[:10], index=dates)
    r = xmr(series, rebase_at=[pd.Timestamp("2020-01-03"), pd.Timestamp("2020-01-08")])
    rebase = [0, 1, 0, 0, 0, 0, 1, 0, 0, 0]  # theirs: 1 on each rebase date
    assert r.points["segment"].tolist() == list(np.cumsum(rebase) + 1)


# --- test-geom_ptd_icon.R @ 24745e755877791489fd8783710bb84f8937d8c4 (the icons) -----------

D24 = RNORM[:24]
HIGH = D24[:12] + [v + 5 for v in RNORM[24:36]]  # d$y[d$f == 1] <- rnorm(12, 5)
LOW = D24[:12] + [v - 5 for v in RNORM[36:48]]  # then rnorm(12, -5)


@pytest.mark.parametrize(
    ("data", "target", "direction", "variation", "assurance_kind"),
    [
        (D24, None, "increase", "common_cause", "none"),  # s1
        (D24, 0.5, "increase", "common_cause", "inconsistent"),  # s2
        (D24[:12], 0.5, "increase", "common_cause", "inconsistent"),  # s4, facet 0
        (D24[12:], 0.5, "increase", "common_cause", "inconsistent"),  # s4, facet 1
        (HIGH, -3, "increase", "improvement_high", "pass"),  # s5
        (HIGH, -3, "decrease", "concern_high", "fail"),  # s6
        (LOW, 3, "increase", "concern_low", "fail"),  # s7
        (LOW, 3, "decrease", "improvement_low", "pass"),  # s8
        (LOW, 3, "neutral", "neutral_low", "neither"),  # s9: no assurance icon
    ],
)
def test_variation_and_assurance_icons(
    data: list[float], target: float | None, direction: str, variation: str, assurance_kind: str
) -> None:
    r = xmr(data, target=target, better=DIRECTION[direction], screen_outliers=True)
    assert r.variation.code == variation  # their icons/variation/<code>.svg
    assert r.assurance.kind == assurance_kind  # their icons/assurance/<kind>.svg (or none)
