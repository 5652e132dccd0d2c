"""The sample generator is deterministic and reproduces the committed returns byte for byte."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from helpers.paths import PROJ_ROOT, RAW_DIR


def _load_generator():  # type: ignore[no-untyped-def]
    path = PROJ_ROOT / "scripts" / "make_sample.py"
    spec = importlib.util.spec_from_file_location("make_sample", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_sample"] = module
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_committed_sample(tmp_path: Path) -> None:
    gen = _load_generator()
    gen.main(raw_dir=tmp_path)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    committed = sorted(p.relative_to(RAW_DIR) for p in RAW_DIR.rglob("*.csv"))
    assert made == committed
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (RAW_DIR / rel).read_bytes(), rel


def test_split_exact_sums_to_total() -> None:
    gen = _load_generator()
    parts = gen.split_exact(436.1, [3.0, 1.0, 2.5, 0.7])
    assert round(sum(parts), 1) == 436.1
    assert all(round(p, 1) == p for p in parts)
    negative = gen.split_exact(-115.5, [-1.0, -2.0, 0.5])
    assert round(sum(negative), 1) == -115.5
