"""The regression suite can fail: one changed computation in a copy of the helper package makes
nbval on golden notebooks and the back test fail, while an unchanged copy passes both."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from kit_project import make_project, run_kit

from helpers.paths import PROJ_ROOT
from kit_dev.golden import (
    GOLDEN_DIR,
    GoldenReport,
    assert_figures_equal,
    backtest_path,
    figures_of,
    golden_path,
    read_figures_csv,
)

#: The mutation: the sign of the savings shortfall, (plan - forecast) -> (forecast - plan).
ORIGINAL = "return (plan - forecast) / plan * 100.0"
MUTATED = "return (forecast - plan) / plan * 100.0"
PERIOD = "2011-12-Q1"
NOTEBOOKS = [
    GoldenReport(PERIOD, "provider_shortfall", "RF4"),
    GoldenReport("2010-11-M10", "regional_outturn", "Q36"),
]
#: The reports of the small run: (family, orgs), with the params file's own options.
SUBSET = {"provider_shortfall": ["Q36", "RF4"], "pct_support_needs": ["5NC"]}


def _package(tmp: Path, name: str, mutate: bool) -> Path:
    """A copy of src/helpers under ``tmp/name/src`` (mutated or not); the folder for PYTHONPATH."""
    src = tmp / name / "src"
    shutil.copytree(
        PROJ_ROOT / "src" / "helpers", src / "helpers", ignore=shutil.ignore_patterns("__pycache__")
    )
    if mutate:
        metrics = src / "helpers" / "metrics.py"
        text = metrics.read_text(encoding="utf-8")
        assert text.count(ORIGINAL) == 1, "the mutated line moved: update ORIGINAL"
        metrics.write_text(text.replace(ORIGINAL, MUTATED), encoding="utf-8")
    return src


def _nbval(src: Path) -> subprocess.CompletedProcess[str]:
    """``pytest --nbval`` on the NOTEBOOKS, with kernels importing the package at ``src``."""
    env = {k: v for k, v in os.environ.items() if k != "NHS_KIT_FORK_SERVER"}
    env.update(PYTHONPATH=str(src), NHS_KIT_ROOT=str(PROJ_ROOT))
    sanitize = PROJ_ROOT / GOLDEN_DIR / "sanitize.cfg"
    args = ["--nbval-kernel-name", "nhs-kit", "--nbval-sanitize-with", str(sanitize)]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval", *args]
        + [str(golden_path(r)) for r in NOTEBOOKS],
        cwd=PROJ_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _small_run(root: Path, src: Path) -> Path:
    """Run the SUBSET of PERIOD's reports with the package at ``src``; its figures.csv."""
    make_project(root, periods=(PERIOD,))
    params_file = root / "params" / f"{PERIOD}.yaml"
    params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    params["families"] = {
        family: {**params["families"][family], "orgs": orgs} for family, orgs in SUBSET.items()
    }
    params_file.write_text(yaml.safe_dump(params), encoding="utf-8")
    proc = run_kit(root, "reports", "--jobs", "2", env={"PYTHONPATH": str(src)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "outputs" / PERIOD / "figures.csv"


@pytest.mark.slow
def test_a_changed_computation_fails_nbval_and_the_back_test(tmp_path: Path) -> None:
    control, mutant = _package(tmp_path, "control", False), _package(tmp_path, "mutant", True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        nbval = {
            name: pool.submit(_nbval, src)
            for name, src in [("control", control), ("mutant", mutant)]
        }
        runs = {
            name: pool.submit(_small_run, tmp_path / f"{name}-project", src)
            for name, src in [("control", control), ("mutant", mutant)]
        }
        results = {name: fut.result() for name, fut in nbval.items()}
        figures = {name: fut.result() for name, fut in runs.items()}

    # (a) nbval: the unchanged copy replays the golden notebooks; the mutant does not.
    assert results["control"].returncode == 0, results["control"].stdout[-3000:]
    failed = results["mutant"]
    assert failed.returncode == 1, failed.stdout[-3000:]
    for report in NOTEBOOKS:
        assert f"{report.relpath.as_posix()}::Cell" in failed.stdout  # each notebook failed
    assert "mismatch" in failed.stdout.lower()  # by a changed output, not a crash

    # (b) back test: the same comparison as test_backtest.py, on the matching ground-truth rows.
    truth = read_figures_csv(backtest_path(PERIOD))
    expected = figures_of(truth, [(f, o) for f, orgs in SUBSET.items() for o in orgs])
    assert len(expected) > 20
    assert_figures_equal(read_figures_csv(figures["control"]), expected)
    with pytest.raises(AssertionError, match="shortfall_pct: got"):
        assert_figures_equal(read_figures_csv(figures["mutant"]), expected)
