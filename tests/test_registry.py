"""The family registry: one entry per notebook, and exactly the figures its reports record."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.paths import PROJ_ROOT
from helpers.report.registry import FAMILIES

BACKTESTS = sorted((PROJ_ROOT / "tests" / "backtest").glob("*.figures.csv"))


@pytest.fixture(scope="module")
def recorded() -> pd.DataFrame:
    """Every figure the reports of both sample periods recorded (the back-test ground truth)."""
    return pd.concat([pd.read_csv(p, dtype=str) for p in BACKTESTS], ignore_index=True)


def test_every_family_is_registered_under_its_own_name() -> None:
    assert list(FAMILIES) == [
        "regional_outturn",
        "provider_shortfall",
        "pct_support_needs",
        "cluster_milestone_slippage",
    ]
    for name, family in FAMILIES.items():
        assert family.name == name and family.notebook == f"{name}.ipynb"
        assert "sha" in family.org_types  # every family has London's report
        assert len(set(family.figure_names)) == len(family.figure_names)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_registry_names_exactly_the_figures_its_reports_record(
    family: str, recorded: pd.DataFrame
) -> None:
    mine = set(recorded.loc[recorded["notebook"] == family, "figure"])
    declared = set(FAMILIES[family].figure_names)
    assert mine - declared == set(), "recorded but not in the registry"
    assert declared - mine == set(), "in the registry but never recorded"
