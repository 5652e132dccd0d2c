"""The kit's own SPC tests: each rule at its boundary, rebasing, a fixed baseline, screening."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.errors import SeriesError
from helpers.spc import XmR, xmr
from helpers.spc.rules import trend_direction

#: Points alternating ±1, then one on the mean (so no run starts in the baseline): mean 0,
#: mean moving range 1.875, limits ±4.9875, two thirds of the way ±3.325.
BASELINE = [1.0, -1.0] * 4 + [0.0]
N = len(BASELINE)


def _after_baseline(points: list[float], **options: object) -> XmR:
    """The points after a fixed baseline of ``BASELINE`` (so they cannot move the limits)."""
    return xmr([*BASELINE, *points], fix_after=N, **options)


def _rules(result: XmR) -> list[str]:
    return result.points["rule"].tolist()[N:]


def test_baseline_limits() -> None:
    seg = _after_baseline([0.0]).segments[0]
    assert (seg.mean, seg.mean_moving_range, seg.baseline) == (0.0, 1.875, N)
    assert (seg.lower, seg.upper) == pytest.approx((-4.9875, 4.9875))
    assert seg.near_upper == pytest.approx(2 * 4.9875 / 3)


def test_beyond_a_limit_but_not_on_it() -> None:
    upper = _after_baseline([0.0]).segments[0].upper
    assert _rules(_after_baseline([upper])) == [""]
    assert _rules(_after_baseline([upper + 0.01])) == ["beyond_limit"]
    assert _rules(_after_baseline([-upper - 0.01])) == ["beyond_limit"]


def test_shift_needs_seven_points_and_flags_them_all() -> None:
    assert _rules(_after_baseline([0.5] * 6 + [-0.5])) == [""] * 7
    assert _rules(_after_baseline([0.5] * 7)) == ["shift"] * 7
    assert _rules(_after_baseline([-0.5] * 8)) == ["shift"] * 8


def test_a_point_on_the_mean_breaks_a_shift() -> None:
    assert _rules(_after_baseline([0.5] * 3 + [0.0] + [0.5] * 4)) == [""] * 8


def test_trend_needs_seven_points_and_a_tie_breaks_it() -> None:
    rising = [-0.3, -0.2, -0.1, 0.1, 0.2, 0.3, 0.4]  # crosses the mean: no shift
    assert _rules(_after_baseline([*rising[:6], 0.0])) == [""] * 7
    assert _rules(_after_baseline(rising)) == ["trend"] * 7
    tie = [-0.3, -0.2, -0.1, -0.1, 0.1, 0.2, 0.3, 0.4]
    assert _rules(_after_baseline(tie)) == [""] * 8


def test_a_trend_outranks_a_shift_and_a_limit_outranks_a_trend() -> None:
    assert _rules(_after_baseline([0.1 * i for i in range(1, 8)])) == ["trend"] * 7
    steep = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 6.0]
    assert _rules(_after_baseline(steep)) == ["trend"] * 6 + ["beyond_limit"]


def test_a_peak_takes_the_direction_of_the_later_trend() -> None:
    values = np.array([1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1], dtype=float)
    assert trend_direction(values).tolist() == [1] * 6 + [-1] * 7
    # NHSRplotthedots takes the step to the next point when that point is also in a trend; in
    # the kit a point keeps the direction of the run it belongs to, so the 7 in
    # 1..7, 6.5, 7.5..12.5 (a rise, a dip, a rise) stays rising where theirs would say falling.
    dip = np.array([1, 2, 3, 4, 5, 6, 7, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5, 12.5])
    assert trend_direction(dip).tolist() == [1] * 14


def test_two_of_three_close_on_the_same_side() -> None:
    near = 4.0  # between two thirds (3.547) and the limit (5.32)
    assert _rules(_after_baseline([near, 0.5, near])) == ["two_of_three", "", "two_of_three"]
    assert _rules(_after_baseline([near, 0.5, 0.5])) == ["", "", ""]  # only 1 of 3 close
    # opposite sides of the mean: common cause
    assert _rules(_after_baseline([near, -near, 0.5])) == ["", "", ""]
    # the third point on the other side of the mean: common cause (NHSRplotthedots' rule)
    assert _rules(_after_baseline([near, -0.5, near])) == ["", "", ""]


def test_improvement_concern_and_neutral_follow_the_direction() -> None:
    assert _after_baseline([6.0], better="higher").latest["point_type"] == "improvement"
    assert _after_baseline([6.0], better="lower").latest["point_type"] == "concern"
    assert _after_baseline([6.0], better="neither").variation.code == "neutral_high"
    low = _after_baseline([-6.0], better="higher")
    assert low.variation.code == "concern_low"
    assert low.variation.words == "Special cause concern: significantly lower than before"


def test_rebasing_gives_each_segment_its_own_limits() -> None:
    series = pd.Series(
        BASELINE + [v + 10 for v in BASELINE], index=[f"M{i:02d}" for i in range(2 * N)]
    )
    one = xmr(series)
    assert one.points["special_cause"].all()  # one mean: everything is a shift
    two = xmr(series, rebase_at=[f"M{N:02d}"])
    assert [s.mean for s in two.segments] == [0.0, 10.0]
    assert two.points["segment"].tolist() == [1] * N + [2] * N
    assert not two.points["special_cause"].any()
    assert two.points["label"].iloc[N] == f"M{N:02d}"


def test_runs_do_not_cross_a_rebase() -> None:
    values = [1.0, -1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert xmr(values, fix_after=3).points["rule"].tolist()[3:] == ["shift"] * 8
    cut = xmr(values, fix_after=3, rebase_at=[7])
    assert cut.points["rule"].tolist()[3:7] == [""] * 4


def test_a_fixed_baseline_is_not_moved_by_later_points() -> None:
    fixed = _after_baseline([3.0, 3.2, 2.9])
    assert fixed.segments[0].mean == 0.0 and fixed.segments[0].baseline == N
    free = xmr([*BASELINE, 3.0, 3.2, 2.9])
    assert free.segments[0].mean > 0.0 and free.segments[0].baseline == N + 3
    with pytest.raises(SeriesError, match="fix_after"):
        xmr(BASELINE, fix_after=1)


def test_screening_leaves_out_large_moving_ranges_only_when_asked() -> None:
    values = [0.0, 1.0] * 6 + [20.0] + [0.0, 1.0] * 3
    plain = xmr(values)
    screened = xmr(values, screen_outliers=True)
    assert plain.segments[0].screened == 0
    assert screened.segments[0].screened == 2  # the step up to 20 and back down
    assert screened.segments[0].mean_moving_range == pytest.approx(1.0)
    assert screened.segments[0].upper < plain.segments[0].upper
    # a series without variation has no outlier to screen
    assert xmr([2.0] * 12, screen_outliers=True).segments[0].mean_moving_range == 0.0


def test_trial_limits_come_from_fewer_than_twelve_points() -> None:
    assert xmr(list(range(11))).trial
    assert not xmr(list(range(12))).trial
    # deliberate difference: limits fixed on 6 points are trial limits however long the series
    # (NHSRplotthedots marks a group by its length only)
    assert xmr(BASELINE * 3, fix_after=6).trial


def test_the_latest_point_gives_the_variation_and_the_target_the_assurance() -> None:
    r = _after_baseline([6.0, 0.0], better="higher", target=-6.0)
    assert r.points["point_type"].tolist()[-2:] == ["improvement", "common_cause"]
    assert r.variation.code == "common_cause"
    assert r.assurance.kind == "pass" and r.assurance.known
    assert xmr(BASELINE, better="higher", target=0.0).assurance.kind == "inconsistent"
    assert xmr(BASELINE, better="lower", target=6.0).assurance.kind == "pass"
    assert xmr(BASELINE, better="higher").assurance.words.startswith("No assurance")


def test_bad_series_are_refused() -> None:
    with pytest.raises(SeriesError, match="finite"):
        xmr([1.0, float("nan"), 2.0])
    with pytest.raises(SeriesError, match="finite"):
        xmr([])
    with pytest.raises(SeriesError, match="better"):
        xmr([1.0, 2.0], better="up")
    with pytest.raises(SeriesError, match="rebase"):
        xmr(pd.Series([1.0, 2.0], index=["M01", "M02"]), rebase_at=["M03"])


def test_a_single_point_has_no_limits_and_no_special_cause() -> None:
    r = xmr([3.0])
    assert np.isnan(r.segments[0].upper)
    assert r.points["rule"].tolist() == [""] and r.trial
