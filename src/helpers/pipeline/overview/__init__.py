"""The period overview as data: London's tiles, the exceptions and a table per family.

Usage example (the period's index page, and the board pack, render the same Overview)::

    from helpers.pipeline.export import collect_figures, good_jobs
    from helpers.pipeline.overview import build_overview
    from helpers.pipeline.pages import overview_body

    overview = build_overview(plan, collect_figures(good_jobs(plan)))
    overview.tiles[0].label, overview.tiles[0].sentence
    # ('Forecast outturn, London', 'Forecast a surplus of £215.4m for 2011-12 against ...')
    html = overview_body(overview)   # the overview_body.html.j2 partial: no page chrome

Gathering lives here (:mod:`~.build`: the overview and the all-periods history;
:mod:`~.tiles`; :mod:`~.exceptions`; :mod:`~.tables`: the family tables; :mod:`~.book`:
figures, statuses, links, cells) and rendering in :mod:`helpers.pipeline.pages` and
``helpers/pipeline/templates/``. The dataclasses (:mod:`~.model`) are the interface both
sides keep stable.
"""

from __future__ import annotations

from helpers.pipeline.overview.build import HISTORY_FIGURES, build_history, build_overview
from helpers.pipeline.overview.model import (
    Cell,
    Column,
    ExceptionGroup,
    ExceptionItem,
    FamilyTable,
    History,
    HistoryRow,
    Judgement,
    Link,
    Overview,
    Row,
    Tile,
)

__all__ = [
    "HISTORY_FIGURES",
    "Cell",
    "Column",
    "ExceptionGroup",
    "ExceptionItem",
    "FamilyTable",
    "History",
    "HistoryRow",
    "Judgement",
    "Link",
    "Overview",
    "Row",
    "Tile",
    "build_history",
    "build_overview",
]
