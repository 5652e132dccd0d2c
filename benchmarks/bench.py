"""Benchmark: the kit against the naive papermill + nbconvert shell loop, side by side.

Usage example (``make bench``)::

    python benchmarks/bench.py                      # both sample periods, everything
    python benchmarks/bench.py --baseline-limit 20  # time the loop on 20 reports, scale up
    python benchmarks/bench.py --only-pack          # the kit once, then its board packs

In a throw-away copy of the project it measures, on this machine and in one run:

1. the kit's first run: ``reports --force`` in a fresh copy (period and history layers,
   every report, pages, workbooks and board packs; the log gives the pages', workbook's and
   each pack's own time);
2. the kit, forced: ``reports --force`` again, every report rerun (wall, CPU, per report); the
   packs are kept, being of the same reports. This is the figure set against the loop;
3. where a report's time goes in that run, as medians by family: kernel start, the cells
   (each cell, from papermill's durations), the rest of papermill, HTML export and writes;
4. a rerun with nothing changed (median of three), answered from the last good run's record,
   and the same with the record removed first (the full check: validation and plans);
5. the peak memory of the forced run: the proportional set size (PSS) of the runner, its
   workers, the fork server and every kernel, summed and sampled every 0.2 s;
6. the naive baseline: a bash script that, for each report of the same list, calls the
   ``papermill`` command and then ``jupyter nbconvert --to html --no-input`` (with
   ``--baseline-limit N`` an even sample of about N reports, and the total is scaled to the
   full list, marked as an estimate). It uses the kit's ``nhs-kit`` kernelspec, as a user of
   the notebooks would, so its kernels get the kernelspec's ``OPENBLAS_NUM_THREADS=1`` as the
   kit's do; the papermill and nbconvert processes themselves run without it;
7. the floor: one warm kernel executing only the notebooks' cells (no start-up, no imports);
8. linearity: a synthetic region ``--scale`` times larger (every trust and PCT cloned, not
   committed) for one period, a forced rerun's time and peak memory against the real one's,
   whose forced run is timed before and after the synthetic one and averaged (no pack
   appendix in either: a pack of every clone is not what is measured);
9. the board packs, apart: each period's pack as the first run built it, and each rebuilt
   alone from the same reports (wall and CPU) - ``--only-pack`` measures just this.

It prints a table and writes ``benchmarks/results/latest.json`` (``pack.json`` with
``--only-pack``). Tests never assert timings;
this is the measure, and the README quotes its latest figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from machine import describe

from helpers.paths import ProjectPaths
from helpers.pipeline.pack import build_pack
from helpers.pipeline.params import load_params, params_files
from helpers.pipeline.plan import Job, Plan, build_plan
from helpers.pipeline.run_record import record_path
from kit_dev.project import copy_inputs, kit_env

#: What the synthetic region clones (London and the clusters stay as they are).
CLONED_TYPES = ("nhs_trust", "pct", "care_trust")
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PACK_RESULTS = RESULTS.with_name("pack.json")
VENV_BIN = Path(sys.executable).parent


# --- measuring ------------------------------------------------------------------------------


class PeakMemory:
    """Sample the summed PSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.root = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    total += proc.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def stop(self) -> int:
        """Stop sampling; the peak in bytes."""
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(
    argv: list[str], env: dict[str, str], cwd: Path, log: Path | None = None
) -> dict[str, float]:
    """Run a command to completion; its wall and CPU seconds (children included) and peak PSS."""
    before = os.times()
    t0 = time.perf_counter()
    err = log.open("w", encoding="utf-8") if log else None
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
    memory = PeakMemory(proc.pid)
    try:
        code = proc.wait()
    except BaseException:  # Ctrl-C, or a SIGTERM (see stop_on_sigterm): stop the run it started
        stop_child(proc)
        raise
    wall = time.perf_counter() - t0
    peak = memory.stop()
    after = os.times()
    if err:
        err.close()
    if code != 0:
        raise SystemExit(f"{shlex.join(argv)} exited with {code}" + (f"; see {log}" if log else ""))
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return {"wall_s": wall, "cpu_s": cpu, "peak_mib": peak / 2**20}


def stop_child(proc: subprocess.Popen[bytes], grace: float = 60.0) -> None:
    """Ask a command to stop (SIGTERM: the kit shuts down cleanly), then kill it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_on_sigterm() -> None:
    """Turn a SIGTERM into SystemExit: the timed command is stopped and the copy removed."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def bench_env(root: Path) -> dict[str, str]:
    """The kit's environment for the copy at ``root``, never borrowing a caller's fork server."""
    return {k: v for k, v in kit_env(root).items() if k != "NHS_KIT_FORK_SERVER"}


def plans(root: Path, periods: list[str] | None) -> list[Plan]:
    """The plan of each period in the copy at ``root``."""
    dirs = ProjectPaths.under(root)
    files = [f for f in params_files(dirs) if periods is None or f.stem in periods]
    return [build_plan(load_params(f, dirs), dirs) for f in files]


def plan_jobs(root: Path, periods: list[str] | None) -> list[Job]:
    """Every report of the periods in the copy at ``root`` (the list both drivers run)."""
    return [j for plan in plans(root, periods) for j in plan.jobs]


# --- the drivers ----------------------------------------------------------------------------


def run_kit(root: Path, periods: list[str] | None, jobs: int) -> dict[str, float]:
    """``reports --force`` over the periods."""
    argv = [sys.executable, "-m", "helpers.cli", "reports", "--force", "--jobs", str(jobs)]
    for p in periods or []:
        argv += ["--period", p]
    return timed(argv, bench_env(root), root)


def noop_rerun(root: Path, periods: list[str] | None, *, full: bool = False) -> float:
    """Median wall time of three reruns with nothing changed: answered from the last good
    run's record, or (``full``) with the record removed first, so the full check runs."""
    argv = [sys.executable, "-m", "helpers.cli", "reports"]
    for p in periods or []:
        argv += ["--period", p]
    walls = []
    for _ in range(3):
        if full:
            record_path(ProjectPaths.under(root)).unlink(missing_ok=True)
        walls.append(timed(argv, bench_env(root), root)["wall_s"])
    return statistics.median(walls)


def baseline_script(jobs: list[Job], out: Path) -> str:
    """The naive loop as a bash script: papermill, then nbconvert, one report at a time."""
    lines = ["set -euo pipefail"]
    for job in jobs:
        target = out / job.period / job.family / f"{job.org_code}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        args = [str(VENV_BIN / "papermill"), str(job.notebook), str(target)]
        args += ["-k", job.kernel_name, "--cwd", str(job.notebook.parent), "--no-progress-bar"]
        for name, value in job.parameters.items():
            args += ["-p", name, str(value)]
        lines.append(shlex.join(args))
        lines.append(
            shlex.join([str(VENV_BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input"])
            + " "
            + shlex.quote(str(target))
        )
    return "\n".join(lines) + "\n"


def run_baseline(root: Path, jobs: list[Job]) -> dict[str, float]:
    """Time the naive loop over ``jobs`` (the kit's processed data is already in place)."""
    script = root / "baseline.sh"
    script.write_text(baseline_script(jobs, root / "baseline"), encoding="utf-8")
    env = {k: v for k, v in bench_env(root).items() if k != "OPENBLAS_NUM_THREADS"}
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    return timed(["bash", str(script)], env, root, log=root / "baseline.log")


def floor_seconds(jobs: list[Job], sample: int = 8) -> float:
    """Median seconds one warm kernel takes to execute a report's cells (nothing else)."""
    from jupyter_client.manager import start_new_kernel
    from nbclient import NotebookClient
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    picked = jobs[:: max(1, len(jobs) // sample)][:sample]
    km, kc = start_new_kernel(kernel_name=picked[0].kernel_name)
    times = []
    try:
        for i, job in enumerate([picked[0], *picked]):  # the first run only warms the imports
            nb = parameterize_notebook(load_notebook_node(str(job.notebook)), job.parameters)
            client = NotebookClient(nb, km=km)
            client.kc = kc
            kc.execute(f"import os; os.chdir({str(job.notebook.parent)!r})", silent=True)
            t0 = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
            if i:
                times.append(time.perf_counter() - t0)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return statistics.median(times)


# --- the board packs -----------------------------------------------------------------------

_PACK_LINE = re.compile(r"board pack \S+, (?P<pages>\d+) pages in (?P<seconds>[\d.]+) s")


def packs_in_run(root: Path, periods: list[str] | None) -> dict[str, dict[str, float]]:
    """Each period's pack as the last run of the kit built it (pages, seconds), from its log."""
    out = {}
    for plan in plans(root, periods):
        logs = sorted((plan.output_dir / "logs").glob("run-*.log"))
        found = _PACK_LINE.findall(logs[-1].read_text(encoding="utf-8")) if logs else []
        if found:
            pages, seconds = found[-1]
            out[plan.period] = {"pages": int(pages), "seconds": float(seconds)}
    return out


_PHASES_LINE = re.compile(r"done    \S+?/(?P<family>\w+)/\S+ in [\d.]+ s \((?P<phases>[^)]*)\)")
_EXPORT_LINE = re.compile(r"pages in (?P<pages>[\d.]+) s, workbook in (?P<workbook>[\d.]+) s")


def _last_log(plan: Plan) -> str:
    logs = sorted((plan.output_dir / "logs").glob("run-*.log"))
    return logs[-1].read_text(encoding="utf-8") if logs else ""


def breakdown(root: Path, periods: list[str] | None) -> dict[str, Any]:
    """Where a report's time went in the last run, as medians by family: the phases its log
    line gives (kernel start, cells, papermill, HTML export, writes), each cell's own time
    (papermill's durations in the executed notebooks), and the floor (the cells' sum)."""
    import nbformat

    phases: dict[str, dict[str, list[float]]] = {}
    cells: dict[str, dict[str, list[float]]] = {}
    exports: dict[str, dict[str, float]] = {}
    for plan in plans(root, periods):
        text = _last_log(plan)
        for m in _PHASES_LINE.finditer(text):
            fam = phases.setdefault(m["family"], {})
            for part in m["phases"].split(", "):
                name, seconds, _ = part.rsplit(" ", 2)
                fam.setdefault(name, []).append(float(seconds))
        found = _EXPORT_LINE.findall(text)
        if found:
            exports[plan.period] = {
                "pages_s": float(found[-1][0]),
                "workbook_s": float(found[-1][1]),
            }
        for job in plan.jobs:
            nb = nbformat.read(job.ipynb, as_version=4)
            fam_cells = cells.setdefault(job.family, {})
            code = [c for c in nb.cells if c.cell_type == "code"]
            for i, cell in enumerate(code):
                first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
                label = f"{i:02d} {first.strip()[:48]}"
                duration = cell.metadata.get("papermill", {}).get("duration")
                if duration is not None:
                    fam_cells.setdefault(label, []).append(float(duration))
    med = statistics.median
    return {
        "phases_median_s": {
            f: {name: round(med(v), 3) for name, v in d.items()} | {"reports": len(d["cells"])}
            for f, d in sorted(phases.items())
        },
        "cells_median_s": {
            f: {label: round(med(v), 3) for label, v in d.items()} for f, d in sorted(cells.items())
        },
        "exports": exports,
    }


def rebuild_packs(root: Path, periods: list[str] | None) -> dict[str, dict[str, float]]:
    """Each period's pack rebuilt alone from the same reports: wall and CPU seconds, pages."""
    dirs = ProjectPaths.under(root)
    out = {}
    for plan in plans(root, periods):
        cpu, t0 = time.process_time(), time.perf_counter()
        built = build_pack(plan, dirs, force=True)
        out[plan.period] = {
            "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - cpu,
            "pages": built.pages,
        }
    return out


def pack_bench(
    root: Path, periods: list[str] | None, in_first_run: dict[str, Any]
) -> dict[str, Any]:
    """The board packs apart: as built in the kit's first run, and each rebuilt alone."""
    return {"in_kit_run": in_first_run, "rebuilt_alone": rebuild_packs(root, periods)}


# --- the synthetic region -------------------------------------------------------------------


def _rewrite(path: Path, transform: Any) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
        fields = list(rows[0]) if rows else []
    out = [new for row in rows for new in transform(row)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)


def scale_region(root: Path, factor: int) -> int:
    """Clone every trust and PCT ``factor - 1`` times (codes ``<code>S<k>``); return the count."""
    ref = root / "data" / "reference"
    with (ref / "organisations.csv").open(encoding="utf-8") as fh:
        orgs = {r["org_code"] for r in csv.DictReader(fh) if r["org_type"] in CLONED_TYPES}

    def clones(row: dict[str, str], code_field: str = "org_code") -> list[dict[str, str]]:
        code = row.get(code_field, "")
        if code not in orgs:
            return [row]
        out = [row]
        for k in range(2, factor + 1):
            new = {**row, code_field: f"{code}S{k}"}
            if "name" in new:
                new["name"] = f"{row['name']} (synthetic {k})"
            if "milestone_id" in new:
                new["milestone_id"] = f"{row['milestone_id']}S{k}"
            out.append(new)
        return out

    _rewrite(ref / "organisations.csv", clones)
    _rewrite(ref / "cluster_membership.csv", clones)
    for table in (root / "data" / "raw").rglob("*.csv"):
        _rewrite(table, clones)
    return len(orgs) * factor


def _no_appendix(params_file: Path) -> None:
    """Set the params file's ``board_pack.appendix`` to none (added when it has none)."""
    text = params_file.read_text(encoding="utf-8")
    if re.search(r"^board_pack:", text, flags=re.M):
        text = re.sub(r"^(  appendix:).*$", r"\1 none", text, count=1, flags=re.M)
    else:
        text += "board_pack:\n  appendix: none\n"
    params_file.write_text(text, encoding="utf-8")


def linearity(root: Path, period: str, factor: int, jobs: int) -> dict[str, Any]:
    """One period of the real region against a synthetic region ``factor`` times larger.

    Both first runs (layers, pages, pack) come before any timed run; the real region's
    forced run is then timed before and after the synthetic one and the two averaged, so a
    machine that slows part-way shows in the real runs' spread, not in the ratio.
    """
    copies: dict[str, Path] = {}
    for name, scale in (("real", 1), ("synthetic", factor)):
        copy = copy_inputs(root / f"scale-{name}", periods=(period,))
        if scale > 1:
            scale_region(copy, scale)
        _no_appendix(copy / "params" / f"{period}.yaml")  # a pack of every clone is not the point
        run_kit(copy, [period], jobs)
        copies[name] = copy
    before = run_kit(copies["real"], [period], jobs)
    synthetic = run_kit(copies["synthetic"], [period], jobs)
    after = run_kit(copies["real"], [period], jobs)
    real = {
        "wall_s": statistics.mean([before["wall_s"], after["wall_s"]]),
        "cpu_s": statistics.mean([before["cpu_s"], after["cpu_s"]]),
        "peak_mib": max(before["peak_mib"], after["peak_mib"]),
        "runs_wall_s": [before["wall_s"], after["wall_s"]],
    }
    results: dict[str, Any] = {"real": real, "synthetic": synthetic}
    for name, copy in copies.items():
        reports = len(plan_jobs(copy, [period]))
        results[name] |= {"reports": reports, "s_per_report": results[name]["wall_s"] / reports}
    results["report_ratio"] = results["synthetic"]["reports"] / results["real"]["reports"]
    results["time_ratio"] = results["synthetic"]["wall_s"] / results["real"]["wall_s"]
    results["per_report_ratio"] = results["time_ratio"] / results["report_ratio"]
    results["memory_ratio"] = results["synthetic"]["peak_mib"] / results["real"]["peak_mib"]
    return results


# --- the command ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the figures were measured on, and the load when they started."""
    return {**describe(), "load_average_at_start": os.getloadavg()}


def say(text: str) -> None:
    """Progress on stderr."""
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write benchmarks/results/latest.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--period", action="append", help="period (repeatable); default: all")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--baseline-limit", type=int, default=0, help="0: every report")
    parser.add_argument("--scale", type=int, default=10, help="synthetic region size factor")
    parser.add_argument("--scale-period", default="2011-12-Q1")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--only-scale", action="store_true", help="the synthetic region alone")
    parser.add_argument("--only-pack", action="store_true", help="the kit once, then its packs")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    args.out = args.out or (PACK_RESULTS if args.only_pack else RESULTS)
    stop_on_sigterm()

    result: dict[str, Any] = {"machine": machine()}

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    if args.only_scale:  # the synthetic region alone (written beside, not over, latest.json)
        args.out = args.out if args.out != RESULTS else RESULTS.with_name("scale.json")
        with tempfile.TemporaryDirectory(prefix="nhs-kit-bench-") as tmp:
            say(f"a region {args.scale}x larger ({args.scale_period})")
            result["linearity"] = linearity(Path(tmp), args.scale_period, args.scale, args.jobs)
        result["machine"]["load_average_at_end"] = os.getloadavg()
        save()
        print(json.dumps(result["linearity"], indent=2))
        return 0
    with tempfile.TemporaryDirectory(prefix="nhs-kit-bench-") as tmp:
        root = copy_inputs(Path(tmp) / "kit")
        jobs = plan_jobs(root, args.period)
        say(f"{len(jobs)} reports; the kit's first run ({args.jobs} jobs)")
        first = run_kit(root, args.period, args.jobs)
        result |= {"reports": len(jobs), "jobs": args.jobs}
        result["kit_first_run"] = {**first, "exports": breakdown(root, args.period)["exports"]}
        packs = packs_in_run(root, args.period)
        if args.only_pack:
            result["pack"] = pack_bench(root, args.period, packs)
            result["machine"]["load_average_at_end"] = os.getloadavg()
            save()
            print(pack_summary(result))
            return 0
        say("the kit again, forced: every report rerun (the packs are kept: the same reports)")
        kit = run_kit(root, args.period, args.jobs)
        result["kit"] = {**kit, "s_per_report": kit["wall_s"] / len(jobs)}
        result["breakdown"] = breakdown(root, args.period)
        result["noop_rerun_full_s"] = noop_rerun(root, args.period, full=True)
        result["noop_rerun_s"] = noop_rerun(root, args.period)
        save()
        say(f"kit {kit['wall_s']:.1f} s; no-op rerun {result['noop_rerun_s']:.2f} s; now the loop")
        # an even sample of the list (every family and period), not its first reports
        step = max(1, round(len(jobs) / args.baseline_limit)) if args.baseline_limit else 1
        sample = jobs[::step]
        base = run_baseline(root, sample)
        baseline_wall = base["wall_s"] * len(jobs) / len(sample)
        result["baseline"] = {
            **base,
            "reports_timed": len(sample),
            "wall_s_all_reports": baseline_wall,
            "estimated": len(sample) < len(jobs),
            "s_per_report": base["wall_s"] / len(sample),
        }
        result["speedup"] = baseline_wall / kit["wall_s"]
        save()
        say(f"naive loop {baseline_wall:.1f} s: {result['speedup']:.1f}x; now the floor")
        result["floor_s_per_report"] = floor_seconds(jobs)
        save()
        say("the board packs, apart")
        result["pack"] = pack_bench(root, args.period, packs)
        save()
        if not args.skip_scale:
            say(f"a region {args.scale}x larger ({args.scale_period})")
            result["linearity"] = linearity(root, args.scale_period, args.scale, args.jobs)
    result["machine"]["load_average_at_end"] = os.getloadavg()
    save()
    print(summary(result))
    return 0


def summary(r: dict[str, Any]) -> str:
    """The benchmark's figures as a small Markdown table."""
    est = " (estimated from a sample)" if r["baseline"]["estimated"] else ""
    first = r["kit_first_run"]
    rows = [
        f"| reports | {r['reports']} ({r['jobs']} parallel jobs) |",
        f"| kit, first run in a fresh copy (layers, reports, pages, workbooks, packs) | "
        f"{first['wall_s']:.1f} s |",
        f"| kit, forced rerun (`reports --force`: every report, packs kept), wall | "
        f"{r['kit']['wall_s']:.1f} s ({r['kit']['s_per_report']:.2f} s/report) |",
        f"| naive loop, wall{est} | {r['baseline']['wall_s_all_reports']:.1f} s "
        f"({r['baseline']['s_per_report']:.2f} s/report) |",
        f"| speed-up | {r['speedup']:.1f}x |",
        f"| rerun with nothing changed (from the last run's record) | {r['noop_rerun_s']:.2f} s |",
        f"| rerun with nothing changed, full check (record removed) | "
        f"{r.get('noop_rerun_full_s', float('nan')):.2f} s |",
        f"| peak memory (PSS, runner + kernels) | {r['kit']['peak_mib']:.0f} MiB |",
        f"| floor (warm kernel, cells only) | {r['floor_s_per_report']:.2f} s/report |",
    ]
    for period, ex in first.get("exports", {}).items():
        rows.append(
            f"| {period}: figures, overview and manifest / workbook | "
            f"{ex['pages_s']:.2f} s / {ex['workbook_s']:.2f} s |"
        )
    if r.get("pack"):
        rows.append(pack_summary(r).split("\n", 2)[2])
    lin = r.get("linearity")
    if lin:
        real, synth = lin["real"], lin["synthetic"]
        spread = ", ".join(f"{w:.1f}" for w in real.get("runs_wall_s", [real["wall_s"]]))
        rows.append(
            f"| {lin['report_ratio']:.1f}x the reports | {lin['time_ratio']:.1f}x the time, "
            f"{lin['memory_ratio']:.2f}x the peak memory |"
        )
        rows.append(
            f"| per report, real / {synth['reports']}-report region | "
            f"{real['s_per_report']:.3f} s (runs {spread} s) / {synth['s_per_report']:.3f} s: "
            f"{lin['per_report_ratio']:.2f}x |"
        )
    return "| measure | value |\n|---|---|\n" + "\n".join(rows) + breakdown_summary(r)


def breakdown_summary(r: dict[str, Any]) -> str:
    """The medians by family of each phase of a report, and its slowest cells."""
    b = r.get("breakdown")
    if not b:
        return ""
    names = ["kernel start", "cells", "papermill", "html export", "writes"]
    head = "| family | reports | " + " | ".join(names) + " |"
    lines = ["", "", "Median seconds per report, forced rerun:", "", head]
    lines.append("|---" * (len(names) + 2) + "|")
    for family, p in b["phases_median_s"].items():
        cells = " | ".join(f"{p.get(n, 0):.3f}" for n in names)
        lines.append(f"| {family} | {p['reports']} | {cells} |")
    lines += ["", "Slowest cells (median seconds):", ""]
    for family, cells_ in b["cells_median_s"].items():
        top = sorted(cells_.items(), key=lambda kv: -kv[1])[:3]
        lines.append(f"- {family}: " + "; ".join(f"`{k[3:]}` {v:.3f}" for k, v in top))
    return "\n".join(lines)


def pack_summary(r: dict[str, Any]) -> str:
    """The board packs' figures as a small Markdown table."""
    pack = r["pack"]
    rows = [
        f"| board pack {period}, in the kit's run | {p['pages']} pages in {p['seconds']:.1f} s |"
        for period, p in pack["in_kit_run"].items()
    ]
    rows += [
        f"| board pack {period}, rebuilt alone | {p['wall_s']:.1f} s wall, {p['cpu_s']:.1f} s CPU |"
        for period, p in pack["rebuilt_alone"].items()
    ]
    return "| measure | value |\n|---|---|\n" + "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
