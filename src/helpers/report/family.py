"""What a report family is: its name, title, who it reports on, its parameters and figures.

Usage example (the end of every family module, e.g. :mod:`helpers.report.provider_shortfall`)::

    FAMILY = Family(
        name="provider_shortfall",
        title="Provider savings and variance to plan",
        org_types=("sha", "nhs_trust"),
        org_help="NHS London (Q36: all NHS trusts) or one NHS trust, e.g. RF4",
        options=(THRESHOLD,),
        figure_names=(...),
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


@dataclass(frozen=True)
class Family:
    """One report family: everything the pipeline and the notebook need to know about it."""

    name: str
    title: str
    org_types: tuple[str, ...]  # the organisation types it reports on ("sha" is London)
    org_help: str  # the org_code parameter's help: which organisations it runs for
    options: tuple[Parameter, ...]  # its own parameters, beyond period, org_code, returns_dir
    figure_names: tuple[str, ...]  # every headline figure a report of the family may record
    figures: Callable[[Report], Figures]
    summary: Callable[[Report], str]
    definitions: Callable[[Report], list[str]]

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
