"""Command line: ``nhs-kit <command>`` (``python -m helpers.cli``; the Makefile's targets).

Usage example::

    nhs-kit validate --period 2011-12-Q1
    nhs-kit reports --period 2011-12-Q1 --jobs 2
    nhs-kit new-period --period 2011-12-Q2

This module only parses arguments, calls the domain functions (which return results and
never print) and shows what they return: the progress bar, the failures, the summary. A
:class:`helpers.errors.KitError` becomes one ``error:`` message and its exit code
(:data:`helpers.errors.EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from helpers.errors import EXIT_BAD_INPUT, EXIT_OK, KitError, ValidationError
from helpers.paths import DEFAULT
from helpers.version import kit_version

if TYPE_CHECKING:
    from tqdm import tqdm

    from helpers.pipeline.job import JobResult
    from helpers.pipeline.runner import RunResult

Command = Callable[[argparse.Namespace], int]


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- validate -----------------------------------------------------------------------------


# Each command imports what it needs when it runs (not at start-up): `nhs-kit validate` never
# loads papermill, and a no-op `nhs-kit reports` stays under a second.


def _validate(args: argparse.Namespace) -> int:
    from helpers.data.check import check_periods

    status = EXIT_OK
    for check in check_periods(args.period, DEFAULT):
        if check.ok:
            print(check.summary())
            continue
        status = EXIT_BAD_INPUT
        if isinstance(check.error, ValidationError):
            print(f"{check.period}: {len(check.error.problems):,} problem(s)")
            print("\n".join(f"  - {line}" for line in check.error.lines()))
            if check.error.listed_in:
                print(f"  every problem is listed in {check.error.listed_in}")
        else:
            print(check.summary())
    return status


# --- reports ------------------------------------------------------------------------------


class TerminalView:
    """Shows a run as it goes: a line per event, and a progress bar while reports run."""

    def __init__(self) -> None:
        self.bar: tqdm[object] | None = None
        self.done = 0
        self.failed = 0
        self.skipped = 0

    def notice(self, text: str) -> None:
        """A line for the user, above the bar if one is showing."""
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            _say(text)

    def started(self, to_run: int, skipped: int) -> None:
        """Show the progress bar (only on a terminal, as tqdm decides)."""
        from tqdm import tqdm

        self.skipped = skipped
        self.bar = tqdm(total=to_run, unit="report", desc="reports", file=sys.stderr, disable=None)  # type: ignore[assignment]
        self._postfix()

    def finished(self, result: JobResult) -> None:
        """One more report done (or failed, named at once)."""
        if result.ok:
            self.done += 1
        else:
            self.failed += 1
            self.notice(f"failed: {result.name}: {result.error}")
        if self.bar is not None:
            self._postfix()
            self.bar.update(1)

    def stopped(self) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _postfix(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix(done=self.done, skipped=self.skipped, failed=self.failed)


def render_run(result: RunResult) -> int:
    """Print the end of a run (failures, or that it was stopped); return its exit code."""
    if result.interrupted:
        _say("interrupted: pending reports cancelled; no output was left half-written")
    elif result.failures:
        lines = [f"{len(result.failures)} report(s) failed:"]
        for failure in sorted(result.failures, key=lambda r: r.name):
            lines.append(f"  {failure.name}: {failure.error}")
            if failure.kept:
                lines.append(f"    kept: {failure.kept}")
        _say("\n".join(lines))
    if not result.interrupted and result.not_built:
        _say("\n".join(["not built:", *(f"  {line}" for line in result.not_built)]))
    return result.exit_code


def _reports(args: argparse.Namespace) -> int:
    if not args.force and args.scheduler is None and (args.jobs is None or args.jobs >= 1):
        from helpers.pipeline.run_record import rerun_unchanged

        quick = rerun_unchanged(args.period, DEFAULT)  # nothing changed since the last good run
        if quick is not None:
            _say("\n".join(quick.lines))
            return EXIT_OK
    from helpers.pipeline.runner import run_reports

    result = run_reports(
        args.period, args.jobs, args.force, args.scheduler, DEFAULT, observer=TerminalView()
    )
    return render_run(result)


# --- new-period ---------------------------------------------------------------------------


def _new_period(args: argparse.Namespace) -> int:
    from helpers.pipeline.params import write_new_period

    new = write_new_period(args.period, DEFAULT)
    raw = DEFAULT.show(DEFAULT.raw / new.written.stem)
    print(
        f"wrote {DEFAULT.show(new.written)} from {DEFAULT.show(new.copied_from)}; check its "
        f"organisation lists and options, and put the returns in {raw}/"
    )
    return EXIT_OK


# --- watch --------------------------------------------------------------------------------


def _watch(args: argparse.Namespace) -> int:
    from helpers.pipeline.watch import watch_periods

    folders = ", ".join(
        DEFAULT.show(p) for p in (DEFAULT.raw, DEFAULT.params, DEFAULT.notebooks, DEFAULT.reference)
    )
    _say(f"watching {folders} (Ctrl-C to stop)")
    try:
        for event in watch_periods(DEFAULT, observer=TerminalView(), jobs=args.jobs):
            _say(event.summary())
            if event.result is not None:
                render_run(event.result)
    except KeyboardInterrupt:
        _say("stopped watching; no report was left half-written")
    return EXIT_OK


# --- the parser ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per pipeline entry point."""
    parser = argparse.ArgumentParser(prog="nhs-kit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {kit_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="validate a period's returns without running reports")
    p.add_argument("--period", action="append", help="period (repeatable); default: all")
    p.set_defaults(func=_validate)

    p = sub.add_parser("reports", help="run every planned report of one or all periods")
    p.add_argument("--period", action="append", help="period (repeatable); default: all")
    p.add_argument("--jobs", type=int, default=None, help="parallel reports (default: cores)")
    p.add_argument("--force", action="store_true", help="rerun reports even if up to date")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (optional)")
    p.set_defaults(func=_reports)

    p = sub.add_parser("watch", help="rerun a period's stale reports when its inputs change")
    p.add_argument("--jobs", type=int, default=None, help="parallel reports (default: cores)")
    p.set_defaults(func=_watch)

    p = sub.add_parser("new-period", help="write params/<period>.yaml from the previous one")
    p.add_argument("--period", required=True)
    p.set_defaults(func=_new_period)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = build_parser().parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
