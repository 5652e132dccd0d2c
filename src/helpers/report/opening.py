"""Opening a report: every parameter checked before any work, then the period's data loaded.

Usage example (the setup cell of every report notebook)::

    report = open_report("provider_shortfall", period, org_code, threshold_pct=threshold_pct,
                         returns_dir=returns_dir)

A bad parameter stops the report with one sentence (a :class:`helpers.errors.KitError`), shown
first as Markdown in the notebook, with a traceback of one frame. The family's parameters and
the organisations it reports on come from its registry entry (:mod:`helpers.report.registry`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import formats, metrics
from helpers.data.history import KEYS as HISTORY_TABLES
from helpers.data.history_store import history_for
from helpers.data.organisations import REGION, Reference, load_reference
from helpers.data.period_data import PeriodData
from helpers.data.periods import Period
from helpers.data.store import load_period
from helpers.errors import KitError, NoDataError, ParameterError, ValidationError
from helpers.paths import PROCESSED_DIR, PROJ_ROOT, RAW_DIR
from helpers.report.base import THRESHOLD, Report, period_table
from helpers.report.display import show_markdown
from helpers.report.family import KIT_PARAMETERS, Family
from helpers.report.registry import FAMILIES

TYPE_NAMES = {
    "sha": "strategic health authority",
    "cluster": "PCT cluster",
    "pct": "PCT",
    "care_trust": "care trust",
    "nhs_trust": "NHS trust",
}


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _family_reach(family: Family) -> str:
    kinds = [TYPE_NAMES[t] for t in family.org_types if t != "sha"]
    alternatives = formats.join_words(kinds).replace(" and ", " or ")
    return f"NHS London ({REGION}) or {_article(alternatives)}"


def family_spec(family: str) -> Family:
    """The registry entry of ``family``, or ParameterError naming the families there are."""
    if family not in FAMILIES:
        names = formats.join_words(FAMILIES).replace(" and ", " or ")
        raise ParameterError(f"There is no report family {family!r}: choose {names}.")
    return FAMILIES[family]


def parse_period(period: object) -> Period:
    """The period parameter as a Period, or ParameterError with one sentence."""
    if isinstance(period, Period):
        return period
    try:
        return Period.parse(str(period))
    except KitError:
        raise ParameterError(
            f"The period {period!r} is not a reporting period: write it as YYYY-YY-MNN "
            "(a month, M01 = April) or YYYY-YY-QN (a quarter), e.g. 2011-12-Q1."
        ) from None


def _org_label(ref: Reference, org_code: str) -> str:
    return f"{ref.name(org_code)} ({org_code})"


def org_problem(ref: Reference, family: Family, org_code: str, period: Period) -> str | None:
    """Why ``family`` cannot report on ``org_code`` in ``period`` (one sentence), or None."""
    orgs = ref.organisations
    if org_code not in set(orgs["org_code"]):
        return (
            f"Organisation code {org_code!r} is not in the reference data "
            "(data/reference/organisations.csv)."
        )
    kind = ref.org_type(org_code)
    if kind not in family.org_types:
        return (
            f"{_org_label(ref, org_code)} is {_article(TYPE_NAMES[kind])}, but the "
            f"{family.name} report ({family.title}) runs for {_family_reach(family)}."
        )
    if org_code in ref.orgs_of_types(family.org_types, period):
        return None
    row = orgs.loc[orgs["org_code"] == org_code].iloc[0]
    span = f"from {row['valid_from']:%-d %B %Y}"
    if pd.notna(row["valid_to"]):
        span += f" to {row['valid_to']:%-d %B %Y}"
    label = _org_label(ref, org_code)
    return f"{label} was not a valid organisation in {period}: it existed {span}."


def _article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" or noun.startswith("NHS") else "a ") + noun


def returns_location(returns_dir: str | Path, period: Period) -> tuple[Path, Path]:
    """Folders (raw, processed) for ``returns_dir``: the folder of period folders, or one of them.

    Empty means the kit's own ``data/raw``; a relative path is taken from the project root
    (never the working directory). Returns from elsewhere get their own processed layer.
    """
    if not str(returns_dir).strip():
        return RAW_DIR, PROCESSED_DIR
    folder = Path(returns_dir).expanduser()
    folder = folder if folder.is_absolute() else PROJ_ROOT / folder
    raw = folder.parent if folder.name == str(period) else folder
    if not (raw / str(period)).is_dir():
        raise NoDataError(f"There are no returns for {period} in {folder}.")
    if raw.resolve() == RAW_DIR.resolve():
        return RAW_DIR, PROCESSED_DIR
    key = hashlib.sha256(str(raw.resolve()).encode()).hexdigest()[:12]
    return raw, PROCESSED_DIR / "elsewhere" / key


def _load(period: Period, returns_dir: str | Path) -> PeriodData:
    raw, processed = returns_location(returns_dir, period)
    if not (raw / str(period)).is_dir():
        raise NoDataError(
            f"There are no returns for {period}: put them in data/raw/{period}/ "
            "(see docs/data-dictionary.md)."
        )
    try:
        return load_period(period, raw_dir=raw, processed_dir=processed)
    except ValidationError as exc:
        n = len(exc.problems)
        raise NoDataError(
            f"The returns for {period} break the data contract ({n} problem"
            f"{'' if n == 1 else 's'}); run `make validate PERIOD={period}` to list them."
        ) from None


def _check_has_return(data: PeriodData, org_code: str) -> None:
    ref = data.reference
    if ref.org_type(org_code) in ("sha", "cluster"):
        return
    fp = data.financial_position
    month = data.period.end_month_label
    if not ((fp["org_code"] == org_code) & (fp["month"] == month)).any():
        raise NoDataError(
            f"{_org_label(ref, org_code)} sent no financial return for {month} of {data.period}."
        )


def open_report(family: str, period: object, org_code: object, **options: object) -> Report:
    """Check the parameters, load the period's returns and return the :class:`Report`.

    Options: the family's own parameters (its registry entry, e.g. ``threshold_pct``) and
    ``returns_dir`` (see :func:`returns_location`). A bad parameter raises a KitError whose
    message is one sentence, shown first as Markdown, with a traceback of one frame.
    """
    __tracebackhide__ = True  # IPython and pytest hide this frame
    try:
        return _open(family, period, org_code, dict(options))
    except KitError as exc:
        problem = exc
    sentence = _sentence(str(problem))
    if _in_ipython():
        show_markdown(f"**This report cannot be produced.** {sentence}")
    error = NoDataError if isinstance(problem, NoDataError) else ParameterError
    raise error(sentence) from None


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipykernel
        return False
    return get_ipython() is not None


def _open(family: str, period: object, org_code: object, options: dict[str, object]) -> Report:
    spec = family_spec(family)
    allowed = {"returns_dir", *(p.name for p in spec.options)}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ParameterError(
            f"The {family} report has no option {formats.join_words(unknown)}; "
            f"its options are {formats.join_words(sorted(allowed))}."
        )
    p = parse_period(period)
    if not isinstance(org_code, str) or not org_code.strip():
        raise ParameterError(
            f"The org_code parameter must be an organisation code such as 'Q36', not {org_code!r}."
        )
    code = org_code.strip().upper()
    chosen = {}
    for param in spec.options:
        value = options.get(param.name, param.default)
        chosen[param.name] = param.check(value) if param.check is not None else value
    returns_dir = options.get("returns_dir", "")
    if not isinstance(returns_dir, str | Path):
        raise ParameterError(
            f"The returns_dir parameter must be a folder path, not {returns_dir!r}."
        )
    ref = load_reference()
    problem = org_problem(ref, spec, code, p)
    if problem:
        raise ParameterError(problem)
    data = _load(p, returns_dir)
    _check_has_return(data, code)
    return Report(
        spec=spec,
        period=p,
        org_code=code,
        org_name=data.reference.name(code),
        org_type=data.reference.org_type(code),
        data=data,
        options=chosen,
        returns_dir=str(returns_dir),
    )


#: The derived tables that most reports of a period read (the rankings of trusts and PCTs and
#: everyone's position), computed in the fork server by :func:`warm` for every kernel it forks.
SHARED_TABLES: tuple[tuple[Callable[..., pd.DataFrame], tuple[Any, ...]], ...] = (
    (metrics.trust_shortfall, (THRESHOLD.default,)),
    (metrics.pct_support, ()),
    (metrics.position, ()),
)


def warm(period: str, returns_dir: str = "") -> None:
    """Load what a report of ``period`` reads (reference data, the period, its history) into
    this process's caches: the fork server calls it, so every kernel it forks inherits them."""
    p = parse_period(period)
    load_reference()
    data = _load(p, returns_dir)
    for fn, args in SHARED_TABLES:
        period_table(data, fn, *args)
    history = history_for(p, returns_dir)
    for name in HISTORY_TABLES:  # resolved once here, for every kernel forked after
        history.table(name)


__all__ = ["KIT_PARAMETERS", "family_spec", "open_report", "returns_location", "warm"]
