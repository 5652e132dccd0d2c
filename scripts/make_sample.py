"""Generate the illustrative sample returns under data/raw/ (deterministic, seeded).

Usage::

    python scripts/make_sample.py            # rewrites data/raw/2010-11-M10 and 2011-12-Q1

NHS London published regional totals and a handful of named organisations only (see
data/reference/published_figures.csv). This script invents plausible organisation-level
returns and calibrates them so that the totals the reports compute from the organisation rows
reproduce every published figure within its tolerance. Organisations the sources name get the
published values; everything else is illustrative. The same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from helpers.data.organisations import CLUSTERS, load_reference
from helpers.data.periods import Period
from helpers.paths import RAW_DIR

SEED = 20110331
CATEGORIES = ("productivity", "integration", "drugs_costs", "running_costs", "activity_management")
DRIVERS = ("cip_slippage", "activity_above_plan", "premium_costs", "restructuring", "other")
BUDGET_LINES = ("admin", "reserves", "central_budgets")

# Illustrative annual turnover (trusts) and resource limits (PCTs), 2010-11, £m, before scaling.
TRUST_SIZE = {
    "RYJ": 950,
    "RNJ": 650,
    "RJ7": 560,
    "RAL": 480,
    "RF4": 460,
    "RYQ": 430,
    "RP4": 390,
    "RVR": 330,
    "RV8": 310,
    "RVL": 290,
    "RRU": 290,
    "RJ6": 270,
    "RGC": 250,
    "RKL": 240,
    "RJ2": 240,
    "RQY": 210,
    "RAP": 200,
    "RNH": 190,
    "RRP": 180,
    "RYX": 170,
    "RFW": 170,
    "RAX": 170,
    "RKE": 160,
    "RC3": 150,
    "RAN": 100,
    "RY9": 80,
}
PCT_SIZE = {
    "5A9": 560,
    "5K7": 470,
    "5C1": 470,
    "5C9": 430,
    "5K8": 400,
    "5C3": 430,
    "5C5": 460,
    "5C4": 460,
    "5C2": 300,
    "5A4": 350,
    "5NA": 380,
    "5NC": 370,
    "5K5": 490,
    "5HX": 560,
    "5H1": 350,
    "5K6": 320,
    "5AT": 430,
    "5HY": 390,
    "5LA": 380,
    "5LC": 520,
    "TAK": 330,
    "5A7": 500,
    "5A8": 440,
    "5LD": 560,
    "5LF": 460,
    "5LE": 510,
    "5K9": 560,
    "5A5": 250,
    "5M6": 280,
    "5M7": 560,
    "5LG": 530,
}

# 2010-11 M10: the trusts NHS London named, and five more (illustrative) that make its eight
# "significantly behind plan" (forecast variance worse than 1% of turnover). The rest are
# within 1%; RYJ absorbs the rounding so the total variance is exact.
TRUST_VARIANCE_1011 = {
    "RF4": -12.9,
    "RNH": -8.4,
    "RJ7": -8.2,
    "RYQ": -9.0,
    "RVL": -6.5,
    "RGC": -4.0,
    "RC3": -3.0,
    "RKE": -2.5,
    "RNJ": -3.0,
    "RAL": -1.5,
    "RVR": -2.0,
    "RV8": -2.5,
    "RJ6": -1.0,
    "RP4": 1.5,
    "RKL": 0.5,
    "RQY": 0.0,
    "RRP": 0.3,
    "RRU": 0.8,
    "RJ2": -1.2,
    "RAP": 0.2,
    "RFW": 0.4,
    "RAX": 0.5,
    "RAN": 0.5,
    "RYX": 0.0,
}
# The eight PCTs that could not break even without London Challenged Trust Board support,
# with their illustrative deficit before support (Haringey's about £28m, as published).
PCT_DEFICIT_BEFORE_SUPPORT_1011 = {
    "5C9": -28.0,
    "5A9": -14.6,
    "5C1": -9.8,
    "5K6": -7.4,
    "5HY": -6.1,
    "5M7": -11.2,
    "5NC": -5.3,
    "5C2": -4.7,
}
# 2011-12 quarter one, QIPP by cluster: (YTD plan, YTD actual). Only NCL and INEL met plan.
CLUSTER_QIPP_YTD_1112 = {
    "NCL": (10.5, 10.8),
    "INEL": (7.2, 7.4),
    "ONEL": (8.4, 7.1),
    "NWL": (15.1, 14.5),
    "SEL": (10.3, 9.6),
    "SWL": (8.3, 7.8),
}
# Milestones due by the end of quarter one (met + missed) and missed, by cluster.
MILESTONES_DUE_MISSED_1112 = {
    "NCL": (22, 3),
    "INEL": (16, 2),
    "ONEL": (19, 6),
    "NWL": (32, 6),
    "SEL": (24, 5),
    "SWL": (16, 0),
}
SCHEMES = {
    "productivity": [
        "Outpatient follow-up ratios",
        "Procedures of limited clinical value",
        "Length of stay reduction",
        "Day case conversion",
    ],
    "integration": [
        "Integrated care pilot",
        "COPD community pathway",
        "Falls prevention service",
        "End of life care register",
    ],
    "drugs_costs": [
        "Prescribing switches",
        "Medicines management reviews",
        "High-cost drugs audit",
    ],
    "running_costs": [
        "Cluster management restructure",
        "Estates rationalisation",
        "Back-office shared services",
    ],
    "activity_management": [
        "Referral management centre",
        "Urgent care centre redirection",
        "A&E demand management",
    ],
}


def to_tenths(x: float) -> int:
    """Money in tenths of £1m (all sample amounts are printed to £0.1m)."""
    return round(x * 10)


def split_exact(total: float, weights: Sequence[float]) -> list[float]:
    """Split ``total`` (to £0.1m) in proportion to ``weights``, parts summing exactly."""
    t = to_tenths(total)
    w = np.asarray(weights, dtype=float)
    raw = t * w / w.sum()
    parts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - parts), kind="stable")[: t - parts.sum()]:
        parts[i] += 1
    return [p / 10 for p in parts]


def scale_exact(values: dict[str, float], total: float) -> dict[str, float]:
    """Scale values so they sum exactly to ``total`` at £0.1m."""
    keys = list(values)
    return dict(zip(keys, split_exact(total, [values[k] for k in keys]), strict=True))


def adjust_exact(values: dict[str, float], total: float, absorber: str) -> dict[str, float]:
    """Round to £0.1m and let ``absorber`` take the difference to ``total``."""
    out = {k: round(v, 1) for k, v in values.items()}
    rest = sum(to_tenths(v) for k, v in out.items() if k != absorber)
    out[absorber] = (to_tenths(total) - rest) / 10
    return out


def fmt(x: float) -> str:
    """Money as written in the sample files: one decimal place, no -0.0."""
    s = f"{x:.1f}"
    return "0.0" if s == "-0.0" else s


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a CSV with Unix newlines (byte-stable across platforms)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


class Sample:
    """State for generating one period's returns."""

    def __init__(self, period: Period, rng: np.random.Generator) -> None:
        self.period = period
        self.rng = rng
        self.ref = load_reference()
        valid = self.ref.valid_in(period)
        self.trusts = sorted(valid.loc[valid["org_type"] == "nhs_trust", "org_code"])
        self.pcts = sorted(valid.loc[valid["org_type"].isin(["pct", "care_trust"]), "org_code"])

    def u(self, lo: float, hi: float) -> float:
        """A uniform draw in [lo, hi)."""
        return float(self.rng.uniform(lo, hi))

    def months_valid(self, org: str) -> list[int]:
        """Financial-year months (1..n) in which ``org`` existed."""
        return [
            m
            for m in range(1, self.period.month + 1)
            if self.ref.is_valid_in_month(org, self.period, m)
        ]


def monthly_rows(
    s: Sample, org: str, year_end: dict[str, float], base: dict[str, float | str]
) -> list[list[str]]:
    """Month-by-month financial_position rows whose last month equals ``year_end``."""
    n = s.period.month
    rows = []
    plan, fot = year_end["annual_plan"], year_end["forecast_outturn"]
    ytd_plan_n, ytd_actual_n = year_end["ytd_plan"], year_end["ytd_actual"]
    for m in s.months_valid(org):
        if m == n:
            f, yp, ya = fot, ytd_plan_n, ytd_actual_n
        else:
            frac = m / n
            f = round(plan + (fot - plan) * frac**1.5 + s.u(-0.4, 0.4) * abs(fot - plan) ** 0.5, 1)
            yp = round(ytd_plan_n * frac, 1)
            ya = round(yp + (ytd_actual_n - ytd_plan_n) * frac + s.u(-0.3, 0.3), 1)
        rows.append(
            [
                str(s.period),
                f"M{m:02d}",
                org,
                fmt(yp),
                fmt(ya),
                fmt(plan),
                fmt(f),
                fmt(year_end["prior_year"]),
                base["turnover"],
                base["resource_limit"],
                fmt(year_end["support"]),
                fmt(year_end["non_recurrent"]),
                fmt(year_end["overperformance"]),
                fmt(year_end["transition"]),
            ]
        )
    return rows


FP_HEADER = [
    "period",
    "month",
    "org_code",
    "ytd_plan_gbp_m",
    "ytd_actual_gbp_m",
    "annual_plan_gbp_m",
    "forecast_outturn_gbp_m",
    "prior_year_outturn_gbp_m",
    "turnover_gbp_m",
    "resource_limit_gbp_m",
    "lctb_support_gbp_m",
    "non_recurrent_gbp_m",
    "acute_overperformance_gbp_m",
    "cluster_transition_cost_gbp_m",
]
SAVINGS_HEADER = [
    "period",
    "org_code",
    "programme",
    "category",
    "annual_plan_gbp_m",
    "ytd_plan_gbp_m",
    "ytd_actual_gbp_m",
    "forecast_gbp_m",
    "forecast_recurrent_gbp_m",
]


def savings_rows(
    s: Sample,
    org: str,
    programme: str,
    plan: float,
    ytd_plan: float,
    ytd_actual: float,
    forecast: float,
) -> list[list[str]]:
    """Split an organisation's savings totals across the five workstream categories."""
    weights = [s.u(0.5, 3.0) for _ in CATEGORIES]
    parts = [split_exact(v, weights) for v in (plan, ytd_plan, ytd_actual, forecast)]
    rows = []
    for i, cat in enumerate(CATEGORIES):
        p, yp, ya, fc = (part[i] for part in parts)
        rec = round(fc * s.u(0.55, 0.9), 1)
        rows.append(
            [
                str(s.period),
                org,
                programme,
                cat,
                fmt(p),
                fmt(min(yp, p)),
                fmt(ya),
                fmt(fc),
                fmt(rec),
            ]
        )
    return rows


def trust_drivers(s: Sample, org: str, variance: float, cip_gap: float) -> list[list[str]]:
    """Variance drivers that add up exactly to the trust's variance to plan."""
    slip = -round(cip_gap, 1)
    if variance < -1.0:
        activity = -round(abs(variance) * s.u(0.1, 0.3), 1)
        premium = -round(abs(variance) * s.u(0.1, 0.25), 1)
        restructuring = -round(abs(variance) * s.u(0.0, 0.2), 1)
    else:
        activity = round(s.u(-0.5, 1.5), 1)
        premium = -round(s.u(0.0, 0.8), 1)
        restructuring = 0.0
    other = (
        to_tenths(variance) - sum(map(to_tenths, (slip, activity, premium, restructuring)))
    ) / 10
    amounts = (slip, activity, premium, restructuring, other)
    return [[str(s.period), org, d, fmt(a)] for d, a in zip(DRIVERS, amounts, strict=True)]


def make_1011(rng: np.random.Generator) -> dict[str, list[list[str]]]:
    """2010-11 M10 (position at end of January 2011), months M01-M10."""
    s = Sample(Period.parse("2010-11-M10"), rng)
    n = s.period.month
    turnover = scale_exact({t: TRUST_SIZE[t] * s.u(0.97, 1.03) for t in s.trusts}, 7869.6)
    resources = scale_exact({p: PCT_SIZE[p] * s.u(0.97, 1.03) for p in s.pcts}, 13989.0)

    # Trusts: variance to plan (named and illustrative), plans summing to £20.0m surplus.
    variance = adjust_exact({t: TRUST_VARIANCE_1011.get(t, 0.0) for t in s.trusts}, -58.0, "RYJ")
    plan = scale_exact({t: turnover[t] * s.u(0.0, 0.012) + 0.1 for t in s.trusts}, 20.0)
    cip_plan = scale_exact({t: turnover[t] * s.u(0.045, 0.065) for t in s.trusts}, 436.1)
    cip_fc = scale_exact(
        {
            t: cip_plan[t] * (s.u(0.62, 0.8) if variance[t] < -2 else s.u(0.82, 0.97))
            for t in s.trusts
        },
        362.0,
    )
    tables: dict[str, list[list[str]]] = {k: [] for k in ("fp", "sav", "drv", "sha")}
    for t in s.trusts:
        fot = round(plan[t] + variance[t], 1)
        ytd_plan = round(plan[t] * n / 12, 1)
        end = {
            "annual_plan": plan[t],
            "forecast_outturn": fot,
            "ytd_plan": ytd_plan,
            "ytd_actual": round(ytd_plan + variance[t] * n / 12 + s.u(-0.3, 0.3), 1),
            "prior_year": round(turnover[t] * s.u(-0.004, 0.01), 1),
            "support": 0.0,
            "non_recurrent": round(turnover[t] * s.u(0.0, 0.008), 1),
            "overperformance": 0.0,
            "transition": 0.0,
        }
        base = {"turnover": fmt(turnover[t]), "resource_limit": ""}
        tables["fp"] += monthly_rows(s, t, end, base)
        tables["sav"] += savings_rows(
            s,
            t,
            "CIP",
            cip_plan[t],
            round(cip_plan[t] * n / 12, 1),
            round(cip_fc[t] * n / 12 * s.u(0.95, 1.02), 1),
            cip_fc[t],
        )
        tables["drv"] += trust_drivers(s, t, variance[t], cip_plan[t] - cip_fc[t])

    # PCTs: eight need support; the rest forecast surpluses; London's PCTs total £128.0m.
    others = [p for p in s.pcts if p not in PCT_DEFICIT_BEFORE_SUPPORT_1011]
    support = {p: round(-d + s.u(0.0, 0.6), 1) for p, d in PCT_DEFICIT_BEFORE_SUPPORT_1011.items()}
    needy_fot = {p: round(d + support[p], 1) for p, d in PCT_DEFICIT_BEFORE_SUPPORT_1011.items()}
    other_fot = scale_exact(
        {p: resources[p] * s.u(0.005, 0.018) for p in others}, 128.0 - sum(needy_fot.values())
    )
    fot_p = {**needy_fot, **other_fot}
    pct_var = adjust_exact({p: s.u(-1.5, 1.5) for p in s.pcts}, 7.0, "5LG")
    qipp_plan = scale_exact({p: resources[p] * s.u(0.028, 0.038) for p in s.pcts}, 455.5)
    qipp_fc = scale_exact({p: qipp_plan[p] * s.u(0.78, 0.95) for p in s.pcts}, 391.7)
    transition = scale_exact({p: resources[p] * s.u(0.8, 1.2) for p in s.pcts}, 133.0)
    for p in s.pcts:
        pplan = round(fot_p[p] - pct_var[p], 1)
        ytd_plan = round(pplan * n / 12, 1)
        needy = p in PCT_DEFICIT_BEFORE_SUPPORT_1011
        end = {
            "annual_plan": pplan,
            "forecast_outturn": fot_p[p],
            "ytd_plan": ytd_plan,
            "ytd_actual": round(ytd_plan + pct_var[p] * n / 12 + s.u(-0.3, 0.3), 1),
            "prior_year": round(resources[p] * s.u(0.0, 0.012), 1),
            "support": support.get(p, 0.0),
            "non_recurrent": round(resources[p] * s.u(0.0, 0.004), 1),
            "overperformance": round(
                resources[p] * (s.u(0.015, 0.04) if needy else s.u(0.0, 0.012)), 1
            ),
            "transition": transition[p],
        }
        base = {"turnover": "", "resource_limit": fmt(resources[p])}
        tables["fp"] += monthly_rows(s, p, end, base)
        tables["sav"] += savings_rows(
            s,
            p,
            "QIPP",
            qipp_plan[p],
            round(qipp_plan[p] * n / 12, 1),
            round(qipp_fc[p] * n / 12 * s.u(0.95, 1.02), 1),
            qipp_fc[p],
        )

    # The SHA's own budgets: plan £329.0m surplus, forecast £184.0m.
    tables["sha"] = sha_rows(
        s, plan=(12.0, 217.0, 100.0), fot=(10.5, 104.0, 69.5), prior=(11.0, 240.0, 96.0)
    )
    return tables


def sha_rows(
    s: Sample, plan: tuple[float, ...], fot: tuple[float, ...], prior: tuple[float, ...]
) -> list[list[str]]:
    """The SHA's budget lines, month by month."""
    n = s.period.month
    rows = []
    for m in range(1, n + 1):
        for i, line in enumerate(BUDGET_LINES):
            frac = m / n
            f = fot[i] if m == n else round(plan[i] + (fot[i] - plan[i]) * frac, 1)
            yp = round(plan[i] * m / 12, 1)
            ya = round(yp + (fot[i] - plan[i]) * m / 12, 1)
            rows.append(
                [
                    str(s.period),
                    f"M{m:02d}",
                    line,
                    fmt(yp),
                    fmt(ya),
                    fmt(plan[i]),
                    fmt(f),
                    fmt(prior[i]),
                ]
            )
    return rows


def make_1112(rng: np.random.Generator, fot_1011: dict[str, float]) -> dict[str, list[list[str]]]:
    """2011-12 quarter one (position at end of June 2011), months M01-M03."""
    s = Sample(Period.parse("2011-12-Q1"), rng)
    turnover = scale_exact({t: TRUST_SIZE[t] * s.u(0.99, 1.05) for t in s.trusts}, 8120.0)
    resources = scale_exact({p: PCT_SIZE[p] * s.u(1.0, 1.04) for p in s.pcts}, 14380.0)
    tables: dict[str, list[list[str]]] = {k: [] for k in ("fp", "sav", "drv", "sha", "ms")}

    # Trusts: a planned deficit of £115.5m, forecast £106.8m; £67.2m planned deficit to date.
    deficit_trusts = {
        "RYQ": 0.32,
        "RNH": 0.12,
        "RF4": 0.22,
        "RVL": 0.1,
        "RGC": 0.08,
        "RNJ": 0.1,
        "RC3": 0.04,
        "RKE": 0.03,
        "RJ7": 0.05,
    }
    plan = scale_exact(
        {t: -deficit_trusts.get(t, 0.0) * 150 + turnover[t] * s.u(0.0, 0.004) for t in s.trusts},
        -115.5,
    )
    fot = scale_exact({t: plan[t] + s.u(-1.5, 2.5) for t in s.trusts}, -106.8)
    ytd_plan = scale_exact({t: plan[t] * s.u(0.5, 0.65) for t in s.trusts}, -67.2)
    ytd_act = scale_exact({t: ytd_plan[t] * s.u(1.05, 1.25) for t in s.trusts}, -78.3)
    prior = scale_exact({t: fot_1011.get(t, 0.0) + 0.7 for t in s.trusts}, -19.1)
    prior = {t: (0.0 if t not in fot_1011 else v) for t, v in prior.items()}
    prior = adjust_exact(prior, -19.1, "RYJ")
    cip_plan = {t: round(turnover[t] * s.u(0.05, 0.07), 1) for t in s.trusts}
    cip_fc = {t: round(cip_plan[t] * s.u(0.8, 0.98), 1) for t in s.trusts}
    for t in s.trusts:
        var = round(fot[t] - plan[t], 1)
        end = {
            "annual_plan": plan[t],
            "forecast_outturn": fot[t],
            "ytd_plan": ytd_plan[t],
            "ytd_actual": ytd_act[t],
            "prior_year": prior[t],
            "support": 0.0,
            "non_recurrent": round(turnover[t] * s.u(0.0, 0.006), 1),
            "overperformance": 0.0,
            "transition": 0.0,
        }
        tables["fp"] += monthly_rows(
            s, t, end, {"turnover": fmt(turnover[t]), "resource_limit": ""}
        )
        tables["sav"] += savings_rows(
            s,
            t,
            "CIP",
            cip_plan[t],
            round(cip_plan[t] * 0.2, 1),
            round(cip_fc[t] * 0.19, 1),
            cip_fc[t],
        )
        tables["drv"] += trust_drivers(s, t, var, cip_plan[t] - cip_fc[t])

    # PCTs: plan £122.3m, forecast £122.4m, £29.7m planned to date and £25.3m achieved.
    pplan = scale_exact({p: resources[p] * s.u(0.004, 0.014) for p in s.pcts}, 122.3)
    pfot = scale_exact({p: pplan[p] + s.u(-0.8, 0.8) + 1.0 for p in s.pcts}, 122.4)
    pytd = scale_exact({p: pplan[p] * s.u(0.2, 0.3) for p in s.pcts}, 29.7)
    pyta = scale_exact({p: pytd[p] * s.u(0.75, 0.95) for p in s.pcts}, 25.3)
    pprior = scale_exact({p: fot_1011.get(p, 0.0) + 1.0 for p in s.pcts}, 134.6)
    support = {"5C9": 12.0, "5NC": 3.5, "5A9": 6.0}
    cluster_of = s.ref.cluster_of(s.period)
    # QIPP: by cluster for the YTD figures; Waltham Forest forecasts two thirds of its plan.
    qplan = scale_exact(
        {p: resources[p] * s.u(0.026, 0.036) for p in s.pcts if p != "5NC"}, 445.5 - 15.0
    )
    qplan["5NC"] = 15.0
    qfc = scale_exact({p: qplan[p] * s.u(0.95, 1.0) for p in s.pcts if p != "5NC"}, 434.2 - 10.0)
    qfc["5NC"] = 10.0
    qytd_plan: dict[str, float] = {}
    qytd_act: dict[str, float] = {}
    for c, (yp, ya) in CLUSTER_QIPP_YTD_1112.items():
        members = [p for p in s.pcts if cluster_of[p] == c]
        qytd_plan.update(scale_exact({p: qplan[p] * s.u(0.9, 1.1) for p in members}, yp))
        qytd_act.update(scale_exact({p: qytd_plan[p] * s.u(0.85, 1.1) for p in members}, ya))
    for p in s.pcts:
        sup = support.get(p, 0.0)
        end = {
            "annual_plan": pplan[p],
            "forecast_outturn": pfot[p],
            "ytd_plan": pytd[p],
            "ytd_actual": pyta[p],
            "prior_year": pprior[p],
            "support": sup,
            "non_recurrent": round(resources[p] * s.u(0.0, 0.004), 1),
            "overperformance": round(resources[p] * s.u(0.0, 0.02), 1),
            "transition": round(resources[p] * s.u(0.001, 0.003), 1),
        }
        tables["fp"] += monthly_rows(
            s, p, end, {"turnover": "", "resource_limit": fmt(resources[p])}
        )
        tables["sav"] += savings_rows(s, p, "QIPP", qplan[p], qytd_plan[p], qytd_act[p], qfc[p])

    # The SHA: plan £199.9m, forecast £199.8m, 2010-11 outturn £257.2m.
    tables["sha"] = sha_rows(
        s, plan=(9.0, 130.9, 60.0), fot=(9.5, 130.3, 60.0), prior=(10.2, 180.0, 67.0)
    )
    tables["ms"] = milestone_rows(s, cluster_of)
    return tables


def milestone_rows(s: Sample, cluster_of: dict[str, str]) -> list[list[str]]:
    """QIPP milestones by cluster: 129 due by the end of quarter one, 22 missed, none in SWL."""
    end = s.period.end_date
    due_dates = [dt.date(2011, 4, 30), dt.date(2011, 5, 31), dt.date(2011, 6, 30)]
    later = [dt.date(2011, m, 28) for m in (7, 8, 9, 10, 11, 12)] + [
        dt.date(2012, 1, 31),
        dt.date(2012, 3, 31),
    ]
    named = {  # the delays the quarter-one report named
        "SEL": [
            (
                "TAK",
                "integration",
                "Diabetes best practice",
                2,
                "specification",
                "Service specification not fit for purpose; being reworked",
            ),
            (
                "5LE",
                "integration",
                "Integrated heart disease service",
                3,
                "recruitment",
                "Delayed by recruitment to the new service",
            ),
        ],
        "ONEL": [
            (
                "",
                "integration",
                "Out-of-hours primary care strategy",
                6,
                "awaiting_agreement",
                "Strategy awaiting agreement across the cluster",
            )
        ],
    }
    rows: list[list[str]] = []
    for c in CLUSTERS:
        due, missed = MILESTONES_DUE_MISSED_1112[c]
        members = sorted(p for p, cc in cluster_of.items() if cc == c)
        not_yet = int(due * 0.8)
        specs = list(named.get(c, []))
        statuses = ["missed"] * missed + ["met"] * (due - missed) + ["not_yet_due"] * not_yet
        for i, status in enumerate(statuses):
            mid = f"{c}-{i + 1:03d}"
            if status == "missed" and specs:
                org, cat, scheme, delay, reason, text = specs.pop(0)
            else:
                org = members[int(s.rng.integers(len(members)))] if s.u(0, 1) < 0.85 else ""
                cat = CATEGORIES[int(s.rng.integers(len(CATEGORIES)))]
                scheme = SCHEMES[cat][int(s.rng.integers(len(SCHEMES[cat])))]
                delay = 1 if s.u(0, 1) < 0.7 else 2
                reason = "awaiting_guidance" if s.u(0, 1) < 0.5 else "awaiting_agreement"
                text = (
                    "Awaiting national guidance"
                    if reason == "awaiting_guidance"
                    else "Awaiting agreement with providers"
                )
            if status == "not_yet_due":
                due_date = later[int(s.rng.integers(len(later)))]
            else:
                due_date = due_dates[int(s.rng.integers(len(due_dates)))]
            assert (due_date <= end) == (status != "not_yet_due")
            if status == "missed":
                y, m = (
                    due_date.year + (due_date.month + delay - 1) // 12,
                    (due_date.month + delay - 1) % 12 + 1,
                )
                revised = dt.date(y, m, 28).isoformat()
                rows.append(
                    [
                        str(s.period),
                        mid,
                        c,
                        org,
                        cat,
                        scheme,
                        due_date.isoformat(),
                        status,
                        revised,
                        str(delay),
                        reason,
                        text,
                    ]
                )
            else:
                rows.append(
                    [
                        str(s.period),
                        mid,
                        c,
                        org,
                        cat,
                        scheme,
                        due_date.isoformat(),
                        status,
                        "",
                        "",
                        "",
                        "",
                    ]
                )
    return rows


MS_HEADER = [
    "period",
    "milestone_id",
    "cluster_code",
    "org_code",
    "category",
    "scheme",
    "due_date",
    "status",
    "revised_date",
    "delay_months",
    "reason_category",
    "reason_text",
]


def write_period(period: str, tables: dict[str, list[list[str]]], raw_dir: Path) -> None:
    """Write one period's tables as CSV files, sorted by their keys."""
    folder = raw_dir / period
    write_csv(
        folder / "financial_position.csv",
        FP_HEADER,
        sorted(tables["fp"], key=lambda r: (r[2], r[1])),
    )
    write_csv(
        folder / "sha_budgets.csv",
        [
            "period",
            "month",
            "budget_line",
            "ytd_plan_gbp_m",
            "ytd_actual_gbp_m",
            "annual_plan_gbp_m",
            "forecast_outturn_gbp_m",
            "prior_year_outturn_gbp_m",
        ],
        tables["sha"],
    )
    write_csv(
        folder / "savings.csv", SAVINGS_HEADER, sorted(tables["sav"], key=lambda r: (r[1], r[3]))
    )
    write_csv(
        folder / "variance_drivers.csv",
        ["period", "org_code", "driver", "amount_gbp_m"],
        tables["drv"],
    )
    if "ms" in tables:
        write_csv(folder / "milestones.csv", MS_HEADER, tables["ms"])


def main(raw_dir: Path = RAW_DIR) -> None:
    """Generate both sample periods."""
    rng = np.random.default_rng(SEED)
    t1011 = make_1011(rng)
    fot_1011 = {r[2]: float(r[6]) for r in t1011["fp"] if r[1] == "M10"}
    write_period("2010-11-M10", t1011, raw_dir)
    write_period("2011-12-Q1", make_1112(rng, fot_1011), raw_dir)
    print(f"wrote sample returns for 2010-11-M10 and 2011-12-Q1 under {raw_dir}")


if __name__ == "__main__":
    main()
