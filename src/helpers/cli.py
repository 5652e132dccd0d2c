"""Command line: ``python -m helpers.cli <command>`` (the Makefile's targets call this).

Usage example::

    python -m helpers.cli validate --period 2011-12-Q1
    python -m helpers.cli reports --period 2011-12-Q1 --jobs 2

Each command lives in the module that does the work; this file only parses arguments and
turns a :class:`helpers.errors.KitError` into a clear message and a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from helpers.errors import KitError

Command = Callable[[argparse.Namespace], int]


def _validate(args: argparse.Namespace) -> int:
    from helpers.data.validate import validate_command

    return int(validate_command(args.period))


def _reports(args: argparse.Namespace) -> int:
    from helpers.pipeline.runner import reports_command

    return int(
        reports_command(
            periods=args.period, jobs=args.jobs, force=args.force, scheduler=args.scheduler
        )
    )


def _new_period(args: argparse.Namespace) -> int:
    from helpers.pipeline.params import new_period_command

    return int(new_period_command(args.period))


def _golden(args: argparse.Namespace) -> int:
    from kit_dev.golden import golden_command

    return int(golden_command(jobs=args.jobs, backtest=not args.no_backtest))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per pipeline entry point."""
    parser = argparse.ArgumentParser(prog="nhs-kit", description=__doc__.splitlines()[0])
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

    p = sub.add_parser("new-period", help="write params/<period>.yaml from the previous one")
    p.add_argument("--period", required=True)
    p.set_defaults(func=_new_period)

    p = sub.add_parser(
        "golden", help="regenerate tests/golden/ and tests/backtest/ (review the diff)"
    )
    p.add_argument("--jobs", type=int, default=None, help="parallel reports (default: cores)")
    p.add_argument("--no-backtest", action="store_true", help="golden notebooks only")
    p.set_defaults(func=_golden)

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
