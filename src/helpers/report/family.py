"""What a report family is: its name, title, who it reports on, its parameters and figures.

Usage example (the end of every family module, e.g. :mod:`helpers.report.provider_shortfall`)::

    FAMILY = Family(
        name="provider_shortfall",
        title="Provider savings and variance to plan",
        org_types=("sha", "nhs_trust"),
        org_help="NHS London (Q36: all NHS trusts) or one NHS trust, e.g. RF4",
        options=(THRESHOLD,),
        dictionary=(figure("variance_to_plan_gbp_m", "Variance to plan", "..."), ...),
        figures=figures, summary=summary, definitions=definitions,
    )

:mod:`helpers.report.registry` lists every family; the params files, the plan, the index
pages, the notebooks' ``parameters`` cells (checked by the tests) and the reports themselves
all read it, so a family is described once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from helpers.figures import unit_of

if TYPE_CHECKING:
    from helpers.report.base import Report

Figures = dict[str, float | int]


@dataclass(frozen=True)
class Parameter:
    """A notebook parameter: name, type, default and help (as its ``parameters`` cell has them).

    ``check`` turns a value a user passed into the value the report uses, or raises
    :class:`helpers.errors.ParameterError` with one sentence.
    """

    name: str
    type: type
    default: object
    help: str
    check: Callable[[object], object] | None = None

    @property
    def type_name(self) -> str:
        """``str``, ``float``, ``int`` or ``bool`` (as papermill infers it)."""
        return self.type.__name__


PERIOD = Parameter("period", str, "2011-12-Q1", "reporting period: YYYY-YY-MNN or YYYY-YY-QN")
RETURNS_DIR = Parameter("returns_dir", str, "", "folder holding period folders; empty for data/raw")
#: Parameters the kit sets for every report (a params file may not set them as options).
KIT_PARAMETERS = ("period", "org_code", "returns_dir")
#: Which way a figure is favourable: a higher value, a lower one, or neither (a plan, a count).
BETTER = ("higher", "lower", "neither")


@dataclass(frozen=True)
class Figure:
    """A headline figure in the figure dictionary: what a board member reads about it."""

    name: str  # as recorded, e.g. "trusts_forecast_outturn_gbp_m"
    label: str  # "Forecast outturn, NHS trusts"
    better: str  # "higher", "lower" or "neither"
    definition: str  # one line: what it is and where it comes from

    @property
    def unit(self) -> str:
        """``gbp_m``, ``pct``, ``count`` or ``flag``, from the name (as figures.csv has it)."""
        return unit_of(self.name)


def figure(name: str, label: str, definition: str, better: str = "higher") -> Figure:
    """A dictionary entry (``better`` is checked against :data:`BETTER`)."""
    if better not in BETTER:
        raise ValueError(f"{name}: better must be one of {', '.join(BETTER)}, not {better!r}")
    return Figure(name, label, better, definition)


@dataclass(frozen=True)
class Family:
    """One report family: everything the pipeline and the notebook need to know about it."""

    name: str
    title: str
    org_types: tuple[str, ...]  # the organisation types it reports on ("sha" is London)
    org_help: str  # the org_code parameter's help: which organisations it runs for
    options: tuple[Parameter, ...]  # its own parameters, beyond period, org_code, returns_dir
    dictionary: tuple[Figure, ...]  # every headline figure a report of the family may record
    figures: Callable[[Report], Figures]
    summary: Callable[[Report], str]
    definitions: Callable[[Report], list[str]]

    @property
    def figure_names(self) -> tuple[str, ...]:
        """The names of every figure its reports may record."""
        return tuple(f.name for f in self.dictionary)

    def figure(self, name: str) -> Figure:
        """The dictionary entry of a figure (KeyError if the family has none of that name)."""
        for entry in self.dictionary:
            if entry.name == name:
                return entry
        raise KeyError(f"{self.name} has no figure {name!r} in its dictionary")

    @property
    def notebook(self) -> str:
        """The notebook's file name under ``notebooks/``."""
        return f"{self.name}.ipynb"

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """Every parameter of the notebook, in the order of its ``parameters`` cell."""
        org = Parameter("org_code", str, "Q36", self.org_help)
        return (PERIOD, org, *self.options, RETURNS_DIR)

    def option(self, name: str) -> Parameter | None:
        """The family's own option called ``name``, if it has one."""
        return next((p for p in self.options if p.name == name), None)

    def option_defaults(self) -> Mapping[str, Any]:
        """``{name: default}`` of the family's own options."""
        return {p.name: p.default for p in self.options}
