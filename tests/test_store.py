"""The processed layer: written once, reused while inputs are unchanged, never half-written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pandas.testing as pdt
import pytest
from fixtures_returns import COLUMNS, PERIOD, ReturnsKit

from helpers.data import period_data, store
from helpers.data.period_data import PeriodData, empty_frame
from helpers.data.periods import Period
from helpers.data.store import (
    available_periods,
    build_processed,
    load_period,
    period_input_hash,
)
from helpers.errors import NoDataError, ValidationError
from helpers.report.base import period_table


def _dirs(kit: ReturnsKit) -> dict[str, Path]:
    return {
        "raw_dir": kit.raw_dir,
        "processed_dir": kit.processed_dir,
        "reference_dir": kit.reference_dir,
    }


def _build(kit: ReturnsKit, force: bool = False) -> Path:
    return build_processed(PERIOD, force, **_dirs(kit))


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_build_writes_parquet_and_manifest(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    folder = _build(returns_kit)
    assert folder == returns_kit.processed_dir / PERIOD
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{name}.parquet" for name in COLUMNS] + ["manifest.json"]
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    raw = returns_kit.folder / "savings.csv"
    assert manifest["inputs"]["savings.csv"] == hashlib.sha256(raw.read_bytes()).hexdigest()
    assert sorted(manifest["inputs"]) == sorted(f"{name}.csv" for name in COLUMNS)
    assert sorted(manifest["reference"]) == ["cluster_membership.csv", "organisations.csv"]
    assert manifest["rows"]["financial_position"] == 12
    assert manifest["has_milestones"] is True
    assert not [p for p in returns_kit.processed_dir.iterdir() if p.is_dir() and p != folder]


def test_load_period_equals_validation(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    expected = returns_kit.validate()
    data = load_period(PERIOD, **_dirs(returns_kit))
    assert data.period == Period.parse(PERIOD)
    assert data.has_milestones
    for name in COLUMNS:
        pdt.assert_frame_equal(data.table(name), expected.table(name), check_dtype=True)
    assert data.milestones["delay_months"].dtype == "Int64"
    assert data.milestones["due_date"].dtype == "datetime64[ns]"
    assert data.savings["org_code"].dtype == "str"
    assert data.row_counts == expected.row_counts


def test_layer_is_reused_while_inputs_are_unchanged(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    folder = _build(returns_kit)
    before = _snapshot(folder)
    load_period(PERIOD, **_dirs(returns_kit))
    assert _build(returns_kit) == folder
    assert _snapshot(folder) == before  # same bytes, same modification times


def test_layer_is_rebuilt_after_a_raw_file_changes(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    folder = _build(returns_kit)
    old = json.loads((folder / "manifest.json").read_text())
    old_hash = period_input_hash(PERIOD, returns_kit.raw_dir, returns_kit.reference_dir)
    returns_kit.set("savings", "forecast_gbp_m", "1.9", org_code="RRU")
    returns_kit.write()
    data = load_period(PERIOD, **_dirs(returns_kit))
    new = json.loads((folder / "manifest.json").read_text())
    assert new["inputs"]["savings.csv"] != old["inputs"]["savings.csv"]
    assert new["inputs"]["sha_budgets.csv"] == old["inputs"]["sha_budgets.csv"]
    rru = data.savings.loc[data.savings["org_code"] == "RRU"].set_index("category")
    assert rru.loc["productivity", "forecast_gbp_m"] == 1.9
    assert period_input_hash(PERIOD, returns_kit.raw_dir, returns_kit.reference_dir) != old_hash


def test_layer_is_rebuilt_after_the_reference_changes(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    folder = _build(returns_kit)
    before = _snapshot(folder)
    orgs = returns_kit.reference_dir / "organisations.csv"
    orgs.write_text(orgs.read_text().replace("Bromley PCT", "NHS Bromley"))
    data = load_period(PERIOD, **_dirs(returns_kit))
    assert _snapshot(folder)["manifest.json"] != before["manifest.json"]
    names = data.reference.organisations.set_index("org_code")["name"]
    assert names["5A7"] == "NHS Bromley"


def test_force_rebuilds(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    folder = _build(returns_kit)
    before = _snapshot(folder)
    _build(returns_kit, force=True)
    after = _snapshot(folder)
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
    assert after["manifest.json"][1] >= before["manifest.json"][1]


def test_interrupted_build_leaves_the_previous_layer_intact(
    returns_kit: ReturnsKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    returns_kit.write()
    folder = _build(returns_kit)
    before = _snapshot(folder)
    returns_kit.set("savings", "forecast_gbp_m", "1.9", org_code="RRU")
    returns_kit.write()

    written: list[str] = []
    real_to_parquet = pd.DataFrame.to_parquet

    def failing_to_parquet(self: pd.DataFrame, path: Path, *args: object, **kw: object) -> None:
        written.append(Path(path).name)
        if len(written) == 3:
            raise KeyboardInterrupt("killed while writing")
        real_to_parquet(self, path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing_to_parquet)
    with pytest.raises(KeyboardInterrupt):
        _build(returns_kit)
    assert len(written) == 3
    assert _snapshot(folder) == before  # the old layer, untouched
    assert sorted(p.name for p in returns_kit.processed_dir.iterdir() if p.is_dir()) == [PERIOD]

    monkeypatch.undo()
    data = load_period(PERIOD, **_dirs(returns_kit))  # the next load finishes the job
    rru = data.savings.loc[data.savings["org_code"] == "RRU"].set_index("category")
    assert rru.loc["productivity", "forecast_gbp_m"] == 1.9


def test_invalid_returns_keep_the_previous_layer(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    folder = _build(returns_kit)
    before = _snapshot(folder)
    returns_kit.set("savings", "category", "prod", org_code="RRU")
    returns_kit.write()
    with pytest.raises(ValidationError, match="'prod' is not allowed"):
        load_period(PERIOD, **_dirs(returns_kit))
    assert _snapshot(folder) == before


def test_leftovers_of_a_killed_build_are_cleared(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    leftover = returns_kit.processed_dir / f".{PERIOD}.tmp-dead"
    leftover.mkdir(parents=True)
    (leftover / "savings.parquet").write_bytes(b"half")
    _build(returns_kit)
    assert not leftover.exists()


def test_period_without_milestones(returns_kit: ReturnsKit) -> None:
    returns_kit.tables["milestones"] = []  # the table is there (required from 2011-12), empty
    returns_kit.write()
    data = load_period(PERIOD, **_dirs(returns_kit))
    assert not data.has_milestones
    pdt.assert_frame_equal(data.milestones, empty_frame("milestones"))
    assert list(data.milestones.columns) == COLUMNS["milestones"]


def test_period_input_hash(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    first = period_input_hash(PERIOD, returns_kit.raw_dir, returns_kit.reference_dir)
    again = period_input_hash(Period.parse(PERIOD), returns_kit.raw_dir, returns_kit.reference_dir)
    assert first == again
    assert len(first) == 64
    _build(returns_kit)
    manifest = json.loads((returns_kit.processed_dir / PERIOD / "manifest.json").read_text())
    combined = {"period": PERIOD, "inputs": manifest["inputs"], "reference": manifest["reference"]}
    assert first == hashlib.sha256(json.dumps(combined, sort_keys=True).encode()).hexdigest()
    with pytest.raises(NoDataError):
        period_input_hash("2011-12-Q2", returns_kit.raw_dir, returns_kit.reference_dir)


def test_available_periods_in_time_order(tmp_path: Path) -> None:
    for name in ("2011-12-Q1", "2010-11-M11", "2011-12-M04", "2010-11-M10", "2011-12-M03"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "2011-12-Q2").write_text("a file, not a folder")
    assert [str(p) for p in available_periods(tmp_path)] == [
        "2010-11-M10",
        "2010-11-M11",
        "2011-12-M03",
        "2011-12-Q1",
        "2011-12-M04",
    ]
    assert available_periods(tmp_path / "missing") == []


def test_period_data_table_lookup(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    data = load_period(PERIOD, **_dirs(returns_kit))
    assert data.table("savings") is data.savings
    with pytest.raises(KeyError, match="not a table"):
        data.table("nonsense")


def test_the_layer_hashes_every_module_of_the_data_package(returns_kit: ReturnsKit) -> None:
    """The processed layer is rebuilt when any module of helpers/data/ changes (and only then)."""
    returns_kit.write()
    found = store._inputs(Period.parse(PERIOD), returns_kit.raw_dir, returns_kit.reference_dir)
    assert Path(store.__file__).resolve().parent == store._DATA_CODE
    assert {p.name for p in store._DATA_CODE.glob("*.py")} >= {
        "contract.py",
        "validate.py",
        "rules.py",
        "completeness.py",
        "returns.py",
        "workbook.py",
    }
    assert len(found["code"]["helpers"]) == 64


def _counting(calls: list[str], module: str = "helpers.metrics") -> Any:
    def org_count(data: PeriodData) -> pd.DataFrame:
        calls.append(str(data.period))
        return pd.DataFrame({"orgs": [data.financial_position["org_code"].nunique()]})

    org_count.__module__ = module  # the sharing keys on the kit's own functions
    return org_count


def test_a_kit_table_derived_from_a_layer_is_computed_once_per_process(
    returns_kit: ReturnsKit,
) -> None:
    """Reports of one period (each its own loaded copy) share the kit's derived tables; each
    gets a copy; an analyst's own function, or data not read from a layer, computes each time;
    a rebuilt layer computes again (and its old tables are dropped)."""
    returns_kit.write()
    calls: list[str] = []
    fn = _counting(calls)
    first, second = (load_period(PERIOD, **_dirs(returns_kit)) for _ in range(2))
    assert first.source == second.source and first.source is not None
    table = period_table(first, fn)
    table.loc[:, "orgs"] = -1  # a report changing its copy
    assert period_table(second, fn)["orgs"].iloc[0] > 0
    assert calls == [PERIOD]
    own = _counting(calls, module="__main__")
    period_table(first, own), period_table(second, own)
    assert calls == [PERIOD] * 3
    plain = returns_kit.validate()  # checked from the raw files: no layer
    assert plain.source is None
    period_table(plain, fn)
    assert calls == [PERIOD] * 4
    returns_kit.set("savings", "forecast_gbp_m", "1.9", org_code="RRU")
    returns_kit.write()
    rebuilt = load_period(PERIOD, **_dirs(returns_kit))
    assert rebuilt.source is not None and rebuilt.source[1] != first.source[1]
    period_table(rebuilt, fn)
    assert calls == [PERIOD] * 5
    assert [k[:2] for k in period_data._SHARED if k[0] == rebuilt.source[0]] == [rebuilt.source]
