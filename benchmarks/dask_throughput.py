"""Reports per second on a Dask cluster of one and of two workers, against the local pool.

Usage::

    .venv/bin/python benchmarks/dask_throughput.py            # writes benchmarks/results/dask.json
    .venv/bin/python benchmarks/dask_throughput.py --plan reduced --runs 3   # a quick look

Every configuration runs the same plan in a throw-away project copy with ``reports --force``,
``--runs`` times: by default every report of 2011-12-Q1 (73); ``--plan reduced`` runs 8 of
them, two per family, where a run's fixed costs (the command's start-up, the local run's fork
server, the period's export) weigh as much as the reports and favour the cluster, whose
workers and fork servers outlive a run. A "run" is the whole ``python -m helpers.cli
reports`` command, client start-up and the period's export included. The clusters are real
``dask scheduler`` and ``dask worker --nworkers 1 --nthreads 1`` processes on 127.0.0.1
(tests/dask_cluster.py) with the settings the README gives (``dask-cluster.yaml``), and for 2
workers also a cluster with Dask's defaults; each takes turns with the local pool of as many
jobs, run by run, so that a change in the machine's load falls on all, and is suspended while
another runs (so that the local runs have the machine as they would without a cluster). The
first run on a fresh cluster also starts each worker's fork server and its first imports
(papermill, nbconvert), so the best run is the figure to compare, and the first is shown
beside it. It prints reports per second for each configuration and the ratio of 2 Dask workers
to the local pool of 2 jobs (the target is 90%). Timings on a shared machine are noisy: the
load average before each run is recorded with it, and so is the CPU time a run costs in all
(the command, its workers, fork servers and kernels; on Dask also the scheduler, nannies and
workers), which another program's load changes far less than it changes the wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from dask_cluster import DASK_CONFIG, Cluster, local_cluster  # noqa: E402
from kit_project import kit_env, make_project, run_kit  # noqa: E402
from machine import describe  # noqa: E402

from helpers.paths import ProjectPaths  # noqa: E402
from helpers.pipeline.params import load_params  # noqa: E402
from helpers.pipeline.plan import build_plan  # noqa: E402

PERIOD = "2011-12-Q1"
#: ``--plan reduced``: two reports per family.
REDUCED = {
    "regional_outturn": ["Q36", "NCL"],
    "provider_shortfall": ["Q36", "RAL"],
    "pct_support_needs": ["Q36", "5K7"],
    "cluster_milestone_slippage": ["Q36", "NWL"],
}
THRESHOLD_FAMILIES = ("regional_outturn", "provider_shortfall")
RESULT = ROOT / "benchmarks" / "results" / "dask.json"
#: 2 Dask workers should reach this share of the local pool's reports per second at 2 jobs.
TARGET = 0.9
#: The clusters' scheduler must not drop workers that were suspended while a local run ran.
CLUSTER_ENV = {"DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL": "1 hour"}


def project_copy(root: Path, plan: str) -> tuple[Path, int]:
    """A project copy running the whole period, or only :data:`REDUCED`; and its report count."""
    make_project(root, periods=(PERIOD,))
    if plan == "reduced":
        families = {
            family: {"orgs": orgs, "options": {"threshold_pct": 1.0}}
            if family in THRESHOLD_FAMILIES
            else {"orgs": orgs}
            for family, orgs in REDUCED.items()
        }
        spec = {"period": PERIOD, "returns_dir": "", "families": families}
        (root / "params" / f"{PERIOD}.yaml").write_text(json.dumps(spec), encoding="utf-8")
    dirs = ProjectPaths.under(root)
    return root, len(build_plan(load_params(dirs.params / f"{PERIOD}.yaml", dirs), dirs).jobs)


@dataclass
class Config:
    """One way of running the plan (local pool or cluster), and what its runs measured."""

    name: str
    args: list[str]
    cluster: Cluster | None = None
    seconds: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def run(self, root: Path) -> None:
        """One forced run of the copy's plan; a run with a failed report is not counted."""
        load, cpu = round(os.getloadavg()[0], 2), cpu_seconds(self.cluster)
        t0 = time.perf_counter()
        proc = run_kit(root, "reports", "--period", PERIOD, "--force", *self.args)
        wall = round(time.perf_counter() - t0, 2)
        if proc.returncode != 0:
            self.failures.append(next((x for x in proc.stderr.splitlines() if "failed:" in x), "?"))
            if len(self.failures) > 2:
                raise SystemExit(f"{self.name}: runs keep failing: {self.failures}")
            return
        self.seconds.append(wall)
        self.cpu_s.append(round(cpu_seconds(self.cluster) - cpu, 2))
        self.loads.append(load)
        print(f"  {self.name}: {wall:.1f} s, CPU {self.cpu_s[-1]:.1f} s (load {load:.2f})",
              file=sys.stderr, flush=True)  # fmt: skip

    def summary(self, reports: int) -> dict[str, Any]:
        """The runs' wall and CPU times, the first and best runs' reports per second, loads."""
        return {
            "runs_s": self.seconds,
            "cpu_s": self.cpu_s,
            "load_average_1min_before_each_run": self.loads,
            "first_reports_per_s": round(reports / self.seconds[0], 3),
            "best_reports_per_s": round(reports / min(self.seconds), 3),
            "best_cpu_s_per_report": round(min(self.cpu_s) / reports, 3),
            "failed_runs_not_timed": self.failures,
        }


def cpu_seconds(cluster: Cluster | None) -> float:
    """CPU seconds so far of this process's finished children (a local run, the command line)
    and of the cluster's processes: scheduler, nannies, workers, fork servers, and the kernels
    those have reaped."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    for top in cluster.procs if cluster else []:
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(top.pid)
            for proc in (parent, *parent.children(recursive=True)):
                with contextlib.suppress(psutil.NoSuchProcess):
                    t = proc.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
    return total


def measure(runs: int, plan: str) -> tuple[int, dict[str, Any]]:
    """The plan's report count; reports per second of the local pool and of Dask, 1 and 2.

    For 1, then for 2: the clusters of that many workers are started (with the README's
    ``dask-cluster.yaml``; for 2 also one with Dask's default settings), and they and the
    local pool of that many jobs take turns, run by run (the order reversed every other
    round), so that a change in the machine's load falls on all. Every cluster but the one
    running is suspended meanwhile (idle, a 2-worker cluster costs 0.1 of a core here).
    """
    configs: dict[str, Config] = {}
    with tempfile.TemporaryDirectory(prefix="dask-bench-") as tmp:
        root, reports = project_copy(Path(tmp) / "project", plan)
        for n in (1, 2):
            settings = {"": DASK_CONFIG, "_dask_defaults": None} if n == 2 else {"": DASK_CONFIG}
            with contextlib.ExitStack() as clusters:
                phase = [Config(f"local_{n}_jobs", ["--jobs", str(n)])]
                for suffix, dask_config in settings.items():
                    folder = Path(tmp) / f"cluster-{n}{suffix}"
                    folder.mkdir()
                    env = kit_env(root, CLUSTER_ENV)
                    cluster = clusters.enter_context(local_cluster(folder, env, n, dask_config))
                    args = ["--scheduler", cluster.address()]
                    phase.append(Config(f"dask_{n}_workers{suffix}", args, cluster))
                take_turns(root, phase, runs)
            configs.update({config.name: config for config in phase})
    names = ("local_1_jobs", "local_2_jobs", "dask_1_workers", "dask_2_workers")
    names += ("dask_2_workers_dask_defaults",)
    return reports, {name: configs[name].summary(reports) for name in names}


def take_turns(root: Path, configs: list[Config], runs: int) -> None:
    """``runs`` rounds of one good run per configuration, the others' clusters suspended."""
    for round_ in range(runs):
        for config in configs if round_ % 2 == 0 else reversed(configs):
            with contextlib.ExitStack() as paused:
                for other in configs:
                    if other.cluster and other is not config:
                        paused.enter_context(suspended(other.cluster))
                while len(config.seconds) <= round_:
                    config.run(root)


@contextlib.contextmanager
def suspended(cluster: Cluster) -> Iterator[None]:
    """Stop every process of ``cluster`` (SIGSTOP) for the block, so it takes no CPU."""
    procs = []
    for top in cluster.procs:
        parent = psutil.Process(top.pid)
        procs += [parent, *parent.children(recursive=True)]
    for proc in procs:
        proc.suspend()
    try:
        yield
    finally:
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.resume()


def comparison(results: dict[str, Any]) -> dict[str, Any]:
    """2 Dask workers against the local pool of 2 jobs, best runs and first runs."""
    dask, local = results["dask_2_workers"], results["local_2_jobs"]
    best = dask["best_reports_per_s"] / local["best_reports_per_s"]
    first = dask["first_reports_per_s"] / local["first_reports_per_s"]
    cpu = dask["best_cpu_s_per_report"] / local["best_cpu_s_per_report"]
    defaults = results["dask_2_workers_dask_defaults"]["best_reports_per_s"]
    return {
        "dask_2_workers_over_local_2_jobs_best": round(best, 3),
        "dask_2_workers_over_local_2_jobs_first": round(first, 3),
        "dask_2_workers_cpu_per_report_over_local_2_jobs": round(cpu, 3),
        "dask_2_workers_dask_defaults_over_local_2_jobs_best": round(
            defaults / local["best_reports_per_s"], 3
        ),
        "target": TARGET,
        "reached": best >= TARGET,
    }


def report(record: dict[str, Any]) -> str:
    """The figures as a table, then the ratio and whether it reaches the target."""
    lines = [
        f"{record['plan']['reports']} reports of {record['plan']['period']} "
        f"({record['plan']['name']} plan), {record['machine']['cpus']} cores "
        f"({record['machine']['cpu']}), {record['machine']['date']}",
        f"{'configuration':<28} {'runs (s)':<20} {'first/s':>7} {'best/s':>7} "
        f"{'CPU s/report':>12}  load before each run",
    ]
    for name, r in record["results"].items():
        runs = ", ".join(f"{s:.1f}" for s in r["runs_s"])
        load = ", ".join(f"{x:.2f}" for x in r["load_average_1min_before_each_run"])
        lines.append(
            f"{name:<28} {runs:<20} {r['first_reports_per_s']:>7.3f} "
            f"{r['best_reports_per_s']:>7.3f} {r['best_cpu_s_per_report']:>12.2f}  {load}"
        )
    c = record["comparison"]
    verdict = "reached" if c["reached"] else "NOT reached"
    lines.append(
        f"dask 2 workers / local 2 jobs, reports per second: "
        f"{c['dask_2_workers_over_local_2_jobs_best']:.0%} (best runs; first runs "
        f"{c['dask_2_workers_over_local_2_jobs_first']:.0%}); target {c['target']:.0%}: "
        f"{verdict}; CPU per report {c['dask_2_workers_cpu_per_report_over_local_2_jobs']:.0%} "
        f"of the local pool's; with Dask's default settings "
        f"{c['dask_2_workers_dask_defaults_over_local_2_jobs_best']:.0%}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print and write :data:`RESULT`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="forced runs per configuration")
    parser.add_argument("--plan", choices=("period", "reduced"), default="period")
    parser.add_argument("--output", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    reports, results = measure(args.runs, args.plan)
    record = {
        "plan": {"period": PERIOD, "name": args.plan, "reports": reports, "runs": args.runs},
        "results": results,
        "comparison": comparison(results),
        "machine": describe(),
        "note": "wall time of whole `reports --force` commands; local and Dask kernels fork "
        "from warm fork servers (the local run starts its own each run, a Dask worker's "
        "outlives runs); shared, noisy machine",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(report(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
