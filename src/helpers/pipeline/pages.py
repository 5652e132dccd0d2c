"""The period overview page and the all-periods page, rendered from jinja2 templates.

>>> period_page(build_overview(plan, figures_frame))   # outputs/<period>/index.html
>>> overview_body(overview)                            # the same body, no chrome (board pack)
>>> write_outputs_index(OUTPUTS_DIR)                   # outputs/index.html

The templates live in ``helpers/pipeline/templates/`` (package data): ``page.html.j2`` (chrome),
``period_index.html.j2``, ``overview_body.html.j2`` (the overview's body, for the pack too),
``all_periods.html.j2`` and ``links.html.j2`` (macros); ``pages.css`` and ``overview.js`` are
inlined, so a page opens offline as one file. Autoescaping is on: every name from the data is
text. Pages are byte-stable (no timestamps, fixed number formats, stable order).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from helpers.files import write_atomic
from helpers.pipeline.overview import History, Overview, build_history

#: The package and folder of the templates (a board pack may load its own beside them).
TEMPLATES = ("helpers.pipeline", "templates")
FOOTER = (
    "Made by the London NHS finance reporting kit from the period's returns; every figure is "
    "computed from organisation rows."
)


@cache
def environment() -> Environment:
    """The jinja2 environment of the kit's page templates (autoescaped, strict)."""
    return Environment(
        loader=PackageLoader(*TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def asset(name: str) -> Markup:
    """A static file of the templates folder (CSS, script), to inline as it is."""
    text = resources.files(TEMPLATES[0]).joinpath(TEMPLATES[1], name).read_text("utf-8")
    return Markup(text)  # our own file, shipped with the package: not data


def _render(template: str, **context: object) -> str:
    page = (
        environment()
        .get_template(template)
        .render(styles=asset("pages.css"), footer=FOOTER, **context)
    )
    return page if page.endswith("\n") else page + "\n"


def overview_body(overview: Overview) -> str:
    """The overview's body (tiles, exceptions, family tables) without page chrome or script."""
    return environment().get_template("overview_body.html.j2").render(overview=overview)


def period_page(overview: Overview) -> str:
    """outputs/<period>/index.html: the overview with its chrome and its filter-and-sort script."""
    return _render(
        "period_index.html.j2", title=overview.title, overview=overview, script=asset("overview.js")
    )


def outputs_page(history: History) -> str:
    """outputs/index.html: London's headline figures for every period, side by side."""
    return _render("all_periods.html.j2", title=history.title, history=history)


def write_outputs_index(outputs_dir: Path) -> bool:
    """Write outputs/index.html from every period's figures.csv (only if it changed)."""
    page = outputs_page(build_history(outputs_dir))
    return write_atomic(outputs_dir / "index.html", page, only_if_changed=True)
