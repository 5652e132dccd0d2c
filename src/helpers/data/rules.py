"""The rules of the data contract that need the reference data or several tables.

>>> for rule in RULES: rule(ctx)          # each appends Problems to ctx.problems

Organisation codes must be known, of the right type and open when their row says; PCT-only
amounts are 0 for NHS trusts; savings to date and recurrent savings are at most their totals;
each trust's variance drivers add up to its variance to plan; milestones belong to a cluster
and their dates agree with their status. Completeness (:mod:`helpers.data.completeness`) runs
after these, once every key cell could be read.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence

import pandas as pd

from helpers.data.context import REPORTING_TYPES, Context
from helpers.data.contract import CheckedTable
from helpers.data.organisations import PROVIDER_TYPES
from helpers.data.schemas import PARTS_TOLERANCE_GBP_M
from helpers.problems import Problem

_TYPE_WORDS = {
    "nhs_trust": "an NHS trust",
    "pct": "a PCT",
    "care_trust": "a care trust",
    "cluster": "a cluster",
    "sha": "the SHA",
}
_EPS = 1e-9


def _org_problem(
    ctx: Context, checked: CheckedTable, row: int, types: Sequence[str], wanted: str
) -> Problem | None:
    """The org_code is unknown, of the wrong type, or not open at the period end."""
    code = str(checked.cell(row, "org_code"))
    if code not in ctx.orgs:
        hint = (
            f"; codes are capital letters: did you mean {code.upper()!r}?"
            if code.upper() in ctx.orgs
            else ""
        )
        return checked.problem(
            row,
            "org_code",
            "is not a known organisation code (expected a code listed in "
            f"data/reference/organisations.csv{hint})",
        )
    kind = ctx.org_type(code)
    if kind not in types:
        return checked.problem(
            row,
            "org_code",
            f"({ctx.org(code)['name']}) is {_TYPE_WORDS[kind]} (expected {wanted})",
        )
    if code not in ctx.valid_at_end:
        return checked.problem(
            row,
            "org_code",
            f"({ctx.org(code)['name']}) was not open at the period end "
            f"{ctx.period.end_date} (expected an organisation valid in {ctx.period}; "
            f"{ctx.dates(code)})",
        )
    return None


def _check_financial_position(ctx: Context) -> None:
    fp = ctx.tables.get("financial_position")
    if fp is None:
        return
    wanted = "an NHS trust, PCT or care trust"
    for row in fp.rows("org_code", "month"):
        code = str(fp.cell(row, "org_code"))
        month = int(str(fp.cell(row, "month"))[1:])
        if code not in ctx.orgs or ctx.org_type(code) not in REPORTING_TYPES:
            if found := _org_problem(ctx, fp, row, REPORTING_TYPES, wanted):
                ctx.problems.append(found)
            continue
        if not ctx.valid_in_month(code, month):
            y, m = ctx.period.calendar_month(month)
            ctx.problems.append(
                fp.problem(
                    row,
                    "org_code",
                    f"({ctx.org(code)['name']}) was not open in M{month:02d} "
                    f"({calendar.month_name[m]} {y}) (expected an organisation open in that "
                    f"month; {ctx.dates(code)})",
                )
            )
        ctx.problems.extend(_by_type_problems(ctx, fp, row, code))


def _by_type_problems(ctx: Context, fp: CheckedTable, row: int, code: str) -> list[Problem]:
    """Turnover for trusts, resource limit for PCTs; PCT-only amounts are 0 for trusts."""
    out = []
    is_trust = ctx.org_type(code) in PROVIDER_TYPES
    who = f"{code} ({_TYPE_WORDS[ctx.org_type(code)]})"
    needs, empty = (
        ("turnover_gbp_m", "resource_limit_gbp_m")
        if is_trust
        else ("resource_limit_gbp_m", "turnover_gbp_m")
    )
    if (row, needs) not in fp.bad and pd.isna(fp.cell(row, needs)):
        what = "its annual turnover" if is_trust else "its revenue resource limit"
        out.append(fp.missing(row, needs, f"value missing for {who} (expected {what} in £m)"))
    if (row, empty) not in fp.bad and pd.notna(fp.cell(row, empty)):
        other = "NHS trusts" if empty == "turnover_gbp_m" else "PCTs and care trusts"
        out.append(
            fp.problem(row, empty, f"given for {who} (expected empty: {empty} is for {other} only)")
        )
    if is_trust:
        for col in (
            "lctb_support_gbp_m",
            "acute_overperformance_gbp_m",
            "cluster_transition_cost_gbp_m",
        ):
            value = fp.cell(row, col)
            if (row, col) not in fp.bad and pd.notna(value) and abs(value) > _EPS:
                out.append(fp.problem(row, col, f"for {who} (expected 0: {col} is for PCTs)"))
    return out


def _check_savings(ctx: Context) -> None:
    sv = ctx.tables.get("savings")
    if sv is None:
        return
    for row in sv.rows("org_code"):
        found = _org_problem(ctx, sv, row, REPORTING_TYPES, "an NHS trust, PCT or care trust")
        if found:
            ctx.problems.append(found)
            continue
        code = str(sv.cell(row, "org_code"))
        programme = "CIP" if ctx.org_type(code) in PROVIDER_TYPES else "QIPP"
        given = sv.cell(row, "programme")
        if (row, "programme") not in sv.bad and pd.notna(given) and given != programme:
            ctx.problems.append(
                sv.problem(
                    row,
                    "programme",
                    f"for {code} ({_TYPE_WORDS[ctx.org_type(code)]}) "
                    f"(expected '{programme}': CIP for NHS trusts, QIPP for PCTs and the care "
                    "trust)",
                )
            )
    for part, whole, words in (
        ("ytd_plan_gbp_m", "annual_plan_gbp_m", "the plan to date is at most the annual plan"),
        (
            "forecast_recurrent_gbp_m",
            "forecast_gbp_m",
            "the recurrent part is at most the forecast",
        ),
    ):
        for row in sv.rows(part, whole):
            if sv.cell(row, part) > sv.cell(row, whole) + _EPS:
                ctx.problems.append(
                    sv.problem(
                        row,
                        part,
                        f"is more than {whole} {sv.text(row, whole)!r} "
                        f"(expected {part} ≤ {whole}: {words})",
                    )
                )


def _check_variance_drivers(ctx: Context) -> None:
    vd = ctx.tables.get("variance_drivers")
    if vd is None:
        return
    for row in vd.rows("org_code"):
        if found := _org_problem(ctx, vd, row, PROVIDER_TYPES, "an NHS trust"):
            ctx.problems.append(found)


def _fmt(x: float) -> str:
    """£m with 1 to 3 decimals: ``-5.3``, ``0.051``, ``0.0``."""
    text = f"{x:.3f}".rstrip("0")
    text = text + "0" if text.endswith(".") else text
    return "0.0" if text == "-0.0" else text


def _check_parts_add_up(ctx: Context) -> None:
    """Per trust, drivers sum to forecast outturn - annual plan at the period's month."""
    fp, vd = ctx.tables.get("financial_position"), ctx.tables.get("variance_drivers")
    if fp is None or vd is None:
        return
    end = ctx.period.end_month_label
    cols = ("org_code", "month", "forecast_outturn_gbp_m", "annual_plan_gbp_m")
    at_end = fp.ok(*cols)
    at_end = at_end.loc[at_end["month"] == end]
    drivers = vd.ok("org_code", "amount_gbp_m")
    bad_driver_orgs = {str(vd.cell(r, "org_code")) for r, c in vd.bad if c == "amount_gbp_m"}
    for row, pos in at_end.iterrows():
        code = str(pos["org_code"])
        if code not in ctx.orgs or ctx.org_type(code) not in PROVIDER_TYPES:
            continue
        if code in bad_driver_orgs:
            continue  # an amount is already reported as unreadable
        mine = drivers.loc[drivers["org_code"] == code]
        if mine.empty:
            continue  # the completeness rule says the drivers are missing
        total = float(mine["amount_gbp_m"].sum())
        variance = float(pos["forecast_outturn_gbp_m"] - pos["annual_plan_gbp_m"])
        diff = total - variance
        if abs(diff) <= PARTS_TOLERANCE_GBP_M + _EPS:
            continue
        ctx.problems.append(
            Problem(
                vd.raw.source,
                f"the variance drivers of {ctx.describe(code)} add up "
                f"to {_fmt(total)} but its variance to plan is {_fmt(variance)} "
                f"({fp.raw.source}, row {row}, {end}: forecast_outturn_gbp_m "
                f"{_fmt(pos['forecast_outturn_gbp_m'])} − annual_plan_gbp_m "
                f"{_fmt(pos['annual_plan_gbp_m'])}); difference {_fmt(diff)} (expected the "
                f"drivers to add up to the variance within {PARTS_TOLERANCE_GBP_M})",
                tuple(sorted(int(r) for r in mine.index)),
                "amount_gbp_m",
            )
        )


def _check_milestones(ctx: Context) -> None:
    ms = ctx.tables.get("milestones")
    if ms is None:
        return
    end = pd.Timestamp(ctx.period.end_date)
    for row in ms.rows("cluster_code"):
        cluster = str(ms.cell(row, "cluster_code"))
        ok = cluster in ctx.valid_at_end and ctx.org_type(cluster) == "cluster"
        if not ok:
            clusters = sorted(c for c in ctx.valid_at_end if ctx.org_type(c) == "cluster")
            ctx.problems.append(
                ms.problem(
                    row,
                    "cluster_code",
                    "is not a cluster open at the period end "
                    f"(expected one of {', '.join(clusters) or 'none: no clusters yet'})",
                )
            )
            continue
        if (row, "org_code") in ms.bad or pd.isna(ms.cell(row, "org_code")):
            continue
        members = ctx.members(cluster)
        org = str(ms.cell(row, "org_code"))
        if org not in members:
            name = f" ({ctx.org(org)['name']})" if org in ctx.orgs else ""
            ctx.problems.append(
                ms.problem(
                    row,
                    "org_code",
                    f"{name} is not a member of cluster {cluster} at "
                    f"{ctx.period.end_date} (expected empty or one of "
                    f"{', '.join(members)})".lstrip(),
                )
            )
    for row in ms.rows("status", "due_date"):
        status, due = ms.cell(row, "status"), ms.cell(row, "due_date")
        late = due > end
        if (status == "not_yet_due") != late:
            wanted = "'not_yet_due'" if late else "'met' or 'missed'"
            side = "after" if late else "on or before"
            ctx.problems.append(
                ms.problem(
                    row,
                    "status",
                    f"but due_date {due:%Y-%m-%d} is {side} the period "
                    f"end {end:%Y-%m-%d} (expected {wanted})",
                )
            )
    for row in ms.rows("status"):
        if ms.cell(row, "status") == "missed":
            ctx.problems.extend(_missed_problems(ms, row))


def _missed_problems(ms: CheckedTable, row: int) -> list[Problem]:
    """A missed milestone needs a later revised date, a delay and a reason."""
    out = []
    for col, what in (
        ("revised_date", "a revised date after the due date"),
        ("delay_months", "the delay in whole months"),
        ("reason_category", "a reason category"),
    ):
        if (row, col) not in ms.bad and pd.isna(ms.cell(row, col)):
            out.append(
                ms.missing(row, col, f"value missing for a missed milestone (expected {what})")
            )
    revised, due = ms.cell(row, "revised_date"), ms.cell(row, "due_date")
    known = (row, "revised_date") not in ms.bad and pd.notna(revised) and pd.notna(due)
    if known and revised <= due:
        out.append(
            ms.problem(
                row,
                "revised_date",
                f"is not after due_date {due:%Y-%m-%d} "
                "(expected a revised date after the due date)",
            )
        )
    return out


#: The rules, in the order their problems are listed.
RULES = (
    _check_financial_position,
    _check_savings,
    _check_variance_drivers,
    _check_parts_add_up,
    _check_milestones,
)
