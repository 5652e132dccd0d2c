"""Reports per second on a Dask cluster of one and of two workers, against the local pool.

Usage::

    .venv/bin/python benchmarks/dask_throughput.py            # writes benchmarks/results/dask.json
    .venv/bin/python benchmarks/dask_throughput.py --runs 3

Every configuration runs the same reduced plan (8 reports of 2011-12-Q1, two per family) in
a throw-away project copy with ``reports --force``, ``--runs`` times; the first run of a fresh
cluster also pays each worker's first imports (papermill, nbconvert), so the best run is the
figure to compare. A "run" is the whole ``python -m helpers.cli reports`` command, client
start-up and the period's export included. The clusters are real ``dask scheduler`` and
``dask worker --nworkers 1 --nthreads 1`` processes on 127.0.0.1 (tests/dask_cluster.py).
Timings on a shared machine are noisy: the load average is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from dask_cluster import local_cluster  # noqa: E402
from kit_project import kit_env, make_project, run_kit  # noqa: E402

PERIOD = "2011-12-Q1"
PLAN = {
    "regional_outturn": ["Q36", "NCL"],
    "provider_shortfall": ["Q36", "RAL"],
    "pct_support_needs": ["Q36", "5K7"],
    "cluster_milestone_slippage": ["Q36", "NWL"],
}
THRESHOLD_FAMILIES = ("regional_outturn", "provider_shortfall")
RESULT = ROOT / "benchmarks" / "results" / "dask.json"


def reduced_copy(root: Path) -> Path:
    """A project copy whose only params file runs :data:`PLAN`."""
    make_project(root, periods=(PERIOD,))
    families = {
        family: {"orgs": orgs, "options": {"threshold_pct": 1.0}}
        if family in THRESHOLD_FAMILIES
        else {"orgs": orgs}
        for family, orgs in PLAN.items()
    }
    spec = {"period": PERIOD, "returns_dir": "", "families": families}
    (root / "params" / f"{PERIOD}.yaml").write_text(json.dumps(spec), encoding="utf-8")
    return root


def timed_runs(root: Path, runs: int, *args: str) -> tuple[list[float], list[str]]:
    """Wall seconds of ``runs`` good forced runs of the reduced plan, and why others failed.

    A run with a failed report (on this shared machine: a kernel that lost its port to another
    process and timed out) is not timed; up to two such runs are retried.
    """
    seconds: list[float] = []
    failures: list[str] = []
    while len(seconds) < runs:
        t0 = time.perf_counter()
        proc = run_kit(root, "reports", "--period", PERIOD, "--force", *args)
        if proc.returncode == 0:
            seconds.append(round(time.perf_counter() - t0, 2))
            continue
        failures.append(next((ln for ln in proc.stderr.splitlines() if "failed:" in ln), "?"))
        if len(failures) > 2:
            raise SystemExit(f"runs keep failing ({' '.join(args)}):\n{proc.stderr[-3000:]}")
    return seconds, failures


def summary(timed: tuple[list[float], list[str]]) -> dict[str, Any]:
    """The runs' wall times, the best run's reports per second, and the untimed failed runs."""
    seconds, failures = timed
    reports = sum(len(orgs) for orgs in PLAN.values())
    return {
        "runs_s": seconds,
        "best_reports_per_s": round(reports / min(seconds), 3),
        "failed_runs_not_timed": failures,
        "load_average_1min_after": round(os.getloadavg()[0], 2),
    }


def measure(runs: int) -> dict[str, Any]:
    """Reports per second with 1 and 2 Dask workers, and with the local pool of 1 and 2."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dask-bench-") as tmp:
        root = reduced_copy(Path(tmp) / "project")
        for jobs in (1, 2):
            results[f"local_{jobs}_jobs"] = summary(timed_runs(root, runs, "--jobs", str(jobs)))
        for workers in (1, 2):
            folder = Path(tmp) / f"cluster-{workers}"
            folder.mkdir()
            with local_cluster(folder, kit_env(root), workers) as cluster:
                address = cluster.address()
                results[f"dask_{workers}_workers"] = summary(
                    timed_runs(root, runs, "--scheduler", address)
                )
    return results


def main(argv: list[str] | None = None) -> int:
    """Measure, print and write :data:`RESULT`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="forced runs per configuration")
    parser.add_argument("--output", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    results = measure(args.runs)
    record = {
        "plan": {"period": PERIOD, "reports": sum(len(o) for o in PLAN.values())},
        "results": results,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min_before_after": [round(load_before, 2), os.getloadavg()[0]],
        },
        "note": "wall time of whole `reports --force` commands; kernels on Dask workers start "
        "from scratch, local kernels fork from the warm server; shared, noisy machine",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
