"""``nhs-kit watch``: a dropped workbook reruns its period, a bad file is refused and the watch
goes on, and Ctrl-C stops it with no kernel or temporary file left."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml
from bad_inputs.project import Project
from kit_project import kit_env, leftovers, make_project, tree_hashes

from helpers.paths import ProjectPaths
from helpers.pipeline.watch import affected_periods

PERIOD = "2011-12-Q1"


def test_a_change_reruns_the_period_it_belongs_to(tmp_path: Path) -> None:
    dirs = ProjectPaths.under(tmp_path)
    raw = dirs.raw / PERIOD
    assert affected_periods([raw / "returns.xlsx"], dirs) == (PERIOD,)
    assert affected_periods([raw / "a.csv", dirs.params / "2010-11-M10.yaml"], dirs) == (
        "2010-11-M10",
        PERIOD,
    )
    assert affected_periods([dirs.notebooks / "regional_outturn.ipynb"], dirs) is None  # all
    assert affected_periods([dirs.raw / "notes" / "x.csv"], dirs) is None


class _Lines:
    """The watch's output, read in a thread so the test can wait for a line."""

    def __init__(self, stream: object) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in:\n{''.join(self.seen)}")


def _narrow(root: Path) -> None:
    path = root / "params" / f"{PERIOD}.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["families"] = {"provider_shortfall": {"orgs": ["Q36", "RAL"], "options": {}}}
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")


@pytest.mark.slow
def test_watch_reruns_a_dropped_workbook_refuses_a_bad_file_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path / "kit", periods=(PERIOD,))
    _narrow(root)
    env = {k: v for k, v in kit_env(root).items() if k != "NHS_KIT_FORK_SERVER"}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "helpers.cli", "watch", "--jobs", "2"],
        cwd=root,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert watcher.stderr is not None
    out = _Lines(watcher.stderr)
    try:
        out.wait_for("watching data/raw")
        Project(root).to_workbook()  # this month's returns arrive as one workbook
        out.wait_for(f"{PERIOD}: first run")
        out.wait_for("reran the stale reports")
        period = root / "outputs" / PERIOD
        assert (period / "provider_shortfall" / "RAL.html").is_file()
        assert (period / "figures.csv").is_file()
        before = tree_hashes(period)

        (root / "data" / "raw" / PERIOD / "notes.txt.csv").write_text("a,b\n1,2\n")
        out.wait_for("not rerun")
        out.wait_for("notes.txt.csv: unexpected file")
        after = tree_hashes(period)
        after.pop("validation.csv", None)
        assert after == before  # the refused file changed no report
        assert watcher.poll() is None  # still watching

        children = psutil.Process(watcher.pid).children(recursive=True)
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=60) == 0
        out.wait_for("stopped watching")
        time.sleep(1)
        assert not [p for p in children if p.is_running() and p.status() != "zombie"]
        assert leftovers(root) == []
    finally:
        if watcher.poll() is None:
            os.kill(watcher.pid, signal.SIGKILL)
            watcher.wait()
