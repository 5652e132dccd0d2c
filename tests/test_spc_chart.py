"""The XmR chart: its text form lists points, limits and flags; icons and legend in words."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import charts, spc
from helpers.spc_chart import STYLES, xmr_chart

MONTHS = [f"2010-11-M{m:02d}" for m in range(1, 13)] + [f"2011-12-M{m:02d}" for m in range(1, 4)]
#: Twelve ordinary months, then three far above: the last two beyond the upper limit.
VALUES = [1.0, -1.0] * 6 + [0.0, 9.0, 9.5]


def _chart(**options: object) -> tuple[spc.XmR, str]:
    result = spc.xmr(pd.Series(VALUES, index=MONTHS), fix_after=12, **options)  # type: ignore[arg-type]
    fig = xmr_chart(result, "In-month surplus / (deficit), London", "£m", name="In-month surplus")
    assert tuple(fig.get_size_inches()) == charts.FIGSIZE and fig.dpi == charts.DPI
    assert fig.canvas.manager is None  # built without pyplot
    return result, charts.chart_data(fig)


def test_text_form_lists_points_limits_and_flags() -> None:
    result, text = _chart(better="higher", target=5.0)
    lines = text.splitlines()
    assert lines[0] == "[chart: In-month surplus / (deficit), London]"
    assert lines[1] == "x axis: ''; y axis: '£m'"
    series = next(ln for ln in lines if ln.startswith("line 'In-month surplus'"))
    assert "2010-11-M01:1 " in series and series.endswith("2011-12-M03:9.5")
    seg = result.segments[0]
    assert f"line 'Mean' dark blue -: 2010-11-M01:{seg.mean:g}" in text
    upper = next(ln for ln in lines if ln.startswith("line 'Upper process limit'"))
    assert upper.startswith("line 'Upper process limit' grey --:")
    assert f"2011-12-M03:{round(seg.upper, 4):g}" in upper
    assert "reference line 'Target' red y=5" in lines
    flagged = [ln for ln in lines if ln.startswith("points ")]
    assert flagged == [
        "points 'Special cause improvement (high): beyond a process limit' blue diamond: "
        "2011-12-M02:9 2011-12-M03:9.5"
    ]


def test_icons_and_legend_say_what_they_mean_in_words() -> None:
    _, text = _chart(better="lower", target=5.0)
    labels = next(ln for ln in text.splitlines() if ln.startswith("labels: Variation"))
    assert "Special cause concern: significantly higher than before" in labels
    assert "Assurance" in labels and "Inconsistent: the target is within the process" in labels
    legend = next(ln for ln in text.splitlines() if ln.startswith("legend: "))
    for words in ("Common cause (grey circle)", "Improvement (blue diamond)"):
        assert words in legend
    assert "Concern (orange cross)" in legend and "Target" in legend
    assert "points 'Special cause concern (high): beyond a process limit' orange cross" in text


def test_trial_limits_are_marked_and_each_segment_has_its_own() -> None:
    series = pd.Series(VALUES, index=MONTHS)
    result = spc.xmr(series, rebase_at=["2011-12-M01"], better="neither")
    text = charts.chart_data(xmr_chart(result, "Rebased", "£m"))
    assert "line 'Mean from 2010-11-M01' dark blue -:" in text
    assert (
        "line 'Upper process limit from 2011-12-M01 (trial: fewer than 12 points)' grey :" in text
    )
    assert "trial limits (grey)" in text
    assert "Trial limits" in text.splitlines()[-1]  # the legend
    assert "No assurance: there is no target" in text
    assert "Special cause, neither (purple triangle)" in text


def test_colour_is_never_the_only_cue() -> None:
    markers = [marker for _, marker, _ in STYLES.values()]
    assert len(set(markers)) == len(markers)
    for _, _, words in STYLES.values():
        assert "(" in words and words.endswith(")")  # colour and shape named in the legend


def test_the_text_changes_when_a_point_or_the_target_moves() -> None:
    _, text = _chart(better="higher", target=5.0)
    moved = spc.xmr(pd.Series([*VALUES[:-1], 9.6], index=MONTHS), fix_after=12, better="higher")
    assert charts.chart_data(xmr_chart(moved, "In-month surplus / (deficit), London", "£m")) != text
    assert _chart(better="higher", target=4.0)[1] != text


def test_png_is_stable() -> None:
    result = spc.xmr(pd.Series(VALUES, index=MONTHS), better="higher")
    first = charts.png_bytes(xmr_chart(result, "Stable", "£m"))
    assert first == charts.png_bytes(xmr_chart(result, "Stable", "£m"))


@pytest.mark.parametrize("kind", ["pass", "fail", "inconsistent"])
def test_each_assurance_has_its_words(kind: str) -> None:
    target = {"pass": -10.0, "fail": 20.0, "inconsistent": 0.5}[kind]
    result = spc.xmr(pd.Series(VALUES, index=MONTHS), fix_after=12, better="higher", target=target)
    assert result.assurance.kind == kind
    text = charts.chart_data(xmr_chart(result, "Assurance", "£m"))
    assert result.assurance.words in text
