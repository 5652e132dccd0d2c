"""Watch the returns, params and notebooks, and rerun a period's stale reports when they change.

Usage example (what ``make watch`` / ``nhs-kit watch`` does; the command line prints)::

    for event in watch_periods(DEFAULT, observer=view):
        print(event.summary())          # "2011-12-Q1: ..." after each settled change

File events come from watchfiles (no polling loop of ours): changes are grouped until they have
settled (:data:`SETTLE_MS`), so copying a workbook in triggers one run, and Excel's ``~$`` lock
files and hidden files are ignored. A change under ``data/raw/<period>/`` or to
``params/<period>.yaml`` reruns that period; a notebook, the reference data or a params file of
no particular period reruns every period (only reports whose inputs changed run: the plan's
fingerprints decide). A refused return, a held lock or a bad params file is reported and the
watch goes on; Ctrl-C stops it, and a run it interrupts leaves no kernel or temporary file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from helpers.data.periods import Period
from helpers.errors import KitError, PeriodError, StorageError
from helpers.paths import ProjectPaths
from helpers.pipeline.runner import RunObserver, RunResult, run_reports

#: Milliseconds without a new change before a group of changes is acted on.
SETTLE_MS = 1500


@dataclass(frozen=True)
class WatchEvent:
    """What one settled change did: the periods it reran, and the result or the refusal."""

    paths: tuple[str, ...]  # the changed files, relative to the project
    periods: tuple[str, ...]  # the periods it reran (empty: all)
    result: RunResult | None = None
    error: KitError | None = None

    def summary(self) -> str:
        """One line (more for a refusal): what changed and what was done."""
        more = f" and {len(self.paths) - 3} more" if len(self.paths) > 3 else ""
        what = ", ".join(self.paths[:3]) + more
        which = ", ".join(self.periods) if self.periods else "every period"
        if self.error is not None:
            return f"changed: {what}; {which} not rerun:\n{self.error}"
        return f"changed: {what}; reran the stale reports of {which}"


def _ignored(path: Path) -> bool:
    return path.name.startswith((".", "~$")) or path.suffix in (".tmp", ".swp")


def affected_periods(changed: Iterable[Path], dirs: ProjectPaths) -> tuple[str, ...] | None:
    """The periods a set of changed paths reruns, in time order; None for every period."""
    periods: set[Period] = set()
    for path in changed:
        try:
            inside_raw = path.resolve().relative_to(dirs.raw.resolve())
        except ValueError:
            inside_raw = None
        if inside_raw is not None and inside_raw.parts:
            try:
                periods.add(Period.parse(inside_raw.parts[0]))
                continue
            except PeriodError:
                return None
        if path.parent.resolve() == dirs.params.resolve() and path.suffix == ".yaml":
            try:
                periods.add(Period.parse(path.stem))
                continue
            except PeriodError:
                return None
        return None  # a notebook, the reference data, anything else: every period
    return tuple(str(p) for p in sorted(periods))


def watch_periods(
    dirs: ProjectPaths,
    observer: RunObserver | None = None,
    jobs: int | None = None,
    stop: threading.Event | None = None,
) -> Iterator[WatchEvent]:
    """Rerun the affected periods after each settled change; yield what each change did.

    Runs until Ctrl-C (KeyboardInterrupt, after the run it interrupted has stopped its
    kernels) or until ``stop`` is set. A StorageError (a full disk) stops the watch too.
    """
    import watchfiles  # only the watch command needs it

    watched = [p for p in (dirs.raw, dirs.params, dirs.notebooks, dirs.reference) if p.is_dir()]

    def wanted(change: watchfiles.Change, name: str) -> bool:
        return not _ignored(Path(name))

    for batch in watchfiles.watch(
        *watched, watch_filter=wanted, debounce=60_000, step=SETTLE_MS, stop_event=stop
    ):
        changed = sorted({Path(name) for _, name in batch})
        shown = tuple(dirs.show(p) for p in changed)
        periods = affected_periods(changed, dirs)
        try:
            result = run_reports(
                list(periods) if periods else None, jobs, False, None, dirs, observer=observer
            )
        except StorageError:
            raise
        except KitError as exc:
            yield WatchEvent(shown, periods or (), error=exc)
            continue
        yield WatchEvent(shown, periods or (), result=result)
        if result.interrupted:
            raise KeyboardInterrupt
