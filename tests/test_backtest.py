"""Back test: each sample period's figures.csv from a full run equals the committed ground truth
(tests/backtest/<period>.figures.csv, written only by `make golden`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit_dev.golden import SAMPLE_PERIODS, assert_figures_equal, backtest_path, read_figures_csv


@pytest.mark.slow
@pytest.mark.parametrize("period", SAMPLE_PERIODS)
def test_figures_csv_equals_the_ground_truth(sample_run: Path, period: str) -> None:
    actual = read_figures_csv(sample_run / "outputs" / period / "figures.csv")
    expected = read_figures_csv(backtest_path(period))
    assert_figures_equal(actual, expected)  # same rows, order, exact values and dtypes
