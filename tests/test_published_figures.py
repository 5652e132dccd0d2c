"""Data test: every published figure comes out of the processed sample's organisation rows.

This runs the helper package's computations directly (no kernels); the notebook tests check
the same figures as the executed reports record them.
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import metrics
from helpers.data.store import load_period
from helpers.paths import PUBLISHED_FIGURES
from helpers.report import open_report

PUBLISHED = pd.read_csv(PUBLISHED_FIGURES, dtype={"org_code": str})
EIGHT_PCTS_NEEDING_SUPPORT = {"5A9", "5C1", "5C9", "5K6", "5HY", "5M7", "5NC", "5C2"}


@pytest.mark.parametrize(
    "row",
    [r._asdict() for r in PUBLISHED.itertuples(index=False)],
    ids=[f"{r.period}-{r.notebook}-{r.org_code}-{r.figure}" for r in PUBLISHED.itertuples()],
)
def test_published_figure_is_reproduced(row: dict[str, object]) -> None:
    report = open_report(str(row["notebook"]), str(row["period"]), str(row["org_code"]))
    figures = report.figures()  # the family's registry entry, with its default options
    assert row["figure"] in figures, f"{row['notebook']} does not record {row['figure']}"
    got = figures[str(row["figure"])]
    assert abs(got - float(str(row["value"]))) <= float(str(row["tolerance"])) + 1e-9, (
        f"{row['figure']} for {row['org_code']}: got {got}, published {row['value']}"
    )


def test_exactly_the_eight_named_pcts_need_support() -> None:
    table = metrics.pct_support(load_period("2010-11-M10"))
    assert set(table.loc[table["needs_support"], "org_code"]) == EIGHT_PCTS_NEEDING_SUPPORT


def test_only_ncl_and_inel_meet_their_savings_target_at_q1() -> None:
    table = metrics.cluster_savings(load_period("2011-12-Q1"))
    assert sorted(table.index[table["savings_target_met"]]) == ["INEL", "NCL"]


def test_named_trusts_behind_plan_as_published() -> None:
    table = metrics.trust_shortfall(load_period("2010-11-M10")).set_index("org_code")
    assert table.loc[["RF4", "RNH", "RJ7"], "variance_to_plan_gbp_m"].tolist() == [
        -12.9,
        -8.4,
        -8.2,
    ]
    assert table.loc[["RF4", "RNH", "RJ7"], "significantly_behind_plan"].all()
    assert int(table["significantly_behind_plan"].sum()) == 8


def test_every_published_row_has_a_source() -> None:
    assert PUBLISHED["source"].str.len().gt(20).all()
    assert len(PUBLISHED) == 54


def test_project_copy_matches_the_brief_when_present() -> None:
    shared = PUBLISHED_FIGURES.parents[2].parent / "shared" / "published" / "seed-figures.csv"
    if not shared.exists():
        pytest.skip(f"{shared} is not beside this checkout")
    assert PUBLISHED_FIGURES.read_bytes() == shared.read_bytes()
