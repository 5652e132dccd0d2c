"""Shared pytest fixtures (each group in clearly named functions; add yours below)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_returns import ReturnsKit


# --- returns, validation and the processed layer (tests/fixtures_returns.py) --------------
@pytest.fixture
def returns_kit(tmp_path: Path) -> ReturnsKit:
    """A tiny valid period 2011-12-Q1 (not yet written) with its own reference data."""
    return ReturnsKit(tmp_path)
