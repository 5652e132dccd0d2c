"""Side by side: ``reports --force`` in this checkout and in another one, alternately.

Usage::

    git worktree add --detach ../before bd9ffcc && make -C ../before venv
    .venv/bin/python benchmarks/against.py ../before --runs 3

Each checkout runs with its own virtual environment, code and outputs; both first run once
untimed (so their period layers, history and board outputs exist), then ``reports --force``
alternates between them ``--runs`` times: every report is executed again, and what is kept
when the same reports come out (the board packs) is kept in both. It prints each run, the
medians, the ratio and the load average, and writes ``benchmarks/results/against.json``.
Timings on a shared machine are noisy: alternating spreads the noise over both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
RESULTS = HERE / "benchmarks" / "results" / "against.json"


def head(checkout: Path) -> str:
    """The checkout's commit, short."""
    out = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def run(checkout: Path, force: bool) -> float:
    """Wall seconds of ``reports`` (``--force``) in ``checkout`` with its own environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NHS_KIT_", "VIRTUAL_ENV"))}
    argv = [str(checkout / ".venv" / "bin" / "python"), "-m", "helpers.cli", "reports"]
    argv += ["--force"] if force else []
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Alternate forced runs in this checkout and ``other``; print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("other", type=Path, help="the other checkout (with its own .venv)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    sides = {"this": HERE, "other": args.other.resolve()}
    commits = {name: head(path) for name, path in sides.items()}
    for path in sides.values():
        run(path, force=False)  # layers, history, pages and board outputs in place
    times: dict[str, list[float]] = {name: [] for name in sides}
    load_start = os.getloadavg()
    for i in range(args.runs):
        for name, path in sides.items():
            seconds = run(path, force=True)
            times[name].append(round(seconds, 2))
            print(f"run {i + 1}: {name} ({commits[name]}) {seconds:.1f} s", file=sys.stderr)
    medians = {name: statistics.median(t) for name, t in times.items()}
    result = {
        "commits": commits,
        "runs_s": times,
        "median_s": medians,
        "ratio_this_to_other": round(medians["this"] / medians["other"], 3),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"),
            "load_average_at_start": load_start,
            "load_average_at_end": os.getloadavg(),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
