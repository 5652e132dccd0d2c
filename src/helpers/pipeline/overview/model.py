"""What the period overview shows, as data: tiles, exceptions and one table per family.

These dataclasses are the stable interface between gathering (:func:`build_overview`) and
rendering (the ``overview_body.html.j2`` partial, the board pack): every text in them is
already written in board style (:mod:`helpers.formats`), every label comes from the figure
dictionary, and every link is relative to ``outputs/<period>/``. A renderer only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass

#: How a figure reads against its favourable direction, and the word and shape that say so
#: (so that colour is never the only cue).
FAVOURABLE, ADVERSE, NEUTRAL, MISSING = "favourable", "adverse", "neutral", "missing"
STATE_WORDS = {
    FAVOURABLE: "Favourable",
    ADVERSE: "Adverse",
    NEUTRAL: "On plan",
    MISSING: "Not available",
}
STATE_SHAPES = {FAVOURABLE: "✔", ADVERSE: "✖", NEUTRAL: "●", MISSING: "?"}

#: A report's status, in words, by its state (see :func:`report_status`).
OK, FAILED, STALE = "ok", "failed", "stale"


@dataclass(frozen=True)
class Judgement:
    """Favourable, adverse, neutral or missing, with its word and shape."""

    state: str

    @property
    def word(self) -> str:
        """``Favourable``, ``Adverse``, ``On plan`` or ``Not available``."""
        return STATE_WORDS[self.state]

    @property
    def shape(self) -> str:
        """``✔``, ``✖``, ``●`` or ``?`` (shown beside the word, hidden from screen readers)."""
        return STATE_SHAPES[self.state]


@dataclass(frozen=True)
class Link:
    """A link to a file of the period, relative to ``outputs/<period>/``."""

    href: str  # e.g. "provider_shortfall/RF4.html"
    text: str  # what it says, e.g. "Report"
    context: str = ""  # read by screen readers after the text, e.g. "of Barking ... (RF4)"


@dataclass(frozen=True)
class Tile:
    """One of London's headline figures, as a board member reads it first.

    ``number`` and ``qualifier`` are the big print ("£215.4m", "surplus"); ``sentence`` says
    it in words against plan; ``judgement`` is favourable or adverse by the dictionary's
    ``better``; ``movement`` is the change since the previous month's return, or None with
    ``no_movement`` saying why.
    """

    key: str  # stable: "forecast_outturn", "ytd", "cip", "qipp", "behind_plan", ...
    label: str  # from the figure dictionary
    number: str
    qualifier: str
    sentence: str
    judgement: Judgement
    definition: str  # the dictionary's definition of the figure the tile shows
    figures: tuple[str, ...]  # the figure names it reads (for tests and the pack)
    movement: str | None = None
    no_movement: str | None = None
    link: Link | None = None  # London's report that records it


@dataclass(frozen=True)
class ExceptionItem:
    """One organisation in an exception list: named, how far off, linked."""

    org_code: str
    name: str
    detail: str  # board words, e.g. "£4.3m below plan, 2.1% of its turnover"
    link: Link | None


@dataclass(frozen=True)
class ExceptionGroup:
    """Organisations that need the board's attention for one reason."""

    key: str  # "behind_plan", "needs_support", "missed_milestones"
    title: str
    items: tuple[ExceptionItem, ...]
    empty_text: str  # said when there are no items
    note: str = ""  # e.g. why the list may be shorter than London's count


@dataclass(frozen=True)
class Column:
    """A figure column of a family table: header and definition from the dictionary."""

    figure: str
    header: str  # label and unit, e.g. "Forecast variance to plan £m"
    unit: str  # gbp_m, pct, count or flag
    definition: str


@dataclass(frozen=True)
class Cell:
    """A table cell: board text ("(106.8)", "Yes", "—") and the recorded value to sort by."""

    text: str
    sort: float | None
    judgement: Judgement | None = None  # only where the cell is a flag with a favourable side


@dataclass(frozen=True)
class Row:
    """One organisation's report: name, code, figures, status in words, links."""

    org_code: str
    name: str
    cells: tuple[Cell, ...]
    status: str  # OK, FAILED or STALE
    status_text: str  # "Up to date", "Failed in the last run", "Not up to date"
    links: tuple[Link, ...]


@dataclass(frozen=True)
class FamilyTable:
    """A family's organisations, worst first, with the few figures that matter."""

    family: str
    title: str
    caption: str
    order: str  # how the rows are ordered, in words
    columns: tuple[Column, ...]
    total: Row | None  # London's row (its report on every organisation), kept on top
    rows: tuple[Row, ...]
    total_note: str = ""  # what London's row adds up


@dataclass(frozen=True)
class TrendBadge:
    """London's month-by-month variance to plan, read with the Making Data Count rules."""

    variation: str  # "improvement", "concern" or "common_cause"
    variation_letter: str  # the letter in the page's circle icon
    variation_words: str
    assurance: str  # "pass", "fail" or "inconsistent"
    assurance_letter: str  # the letter in the page's square icon
    assurance_words: str
    link: Link  # London's report, at its XmR charts


@dataclass(frozen=True)
class ChangeRow:
    """A figure that moved since the last run: whose, which, before, now, the difference."""

    organisation: str  # "Royal Free Hampstead NHS Trust (RAL)"
    figure: str  # the dictionary's label
    family: str  # the family's title
    before: Cell
    now: Cell
    difference: Cell
    link: Link


@dataclass(frozen=True)
class Changes:
    """The "changed since the last run" section (only when a figure moved)."""

    summary: str  # "7 figures moved since the last run, for Q36 and RAL (...)"
    inputs: tuple[str, ...]  # the inputs that changed, in words
    rows: tuple[ChangeRow, ...]
    more: int  # moved figures not listed (changes.csv has every one)
    link: Link


@dataclass(frozen=True)
class Overview:
    """Everything the period overview page (and the board pack's overview) shows."""

    period: str  # "2011-12-Q1"
    title: str  # "NHS London finance reports, 2011-12-Q1"
    period_label: str  # "Quarter 1 2011-12 (to June 2011)"
    caveat: str
    tiles: tuple[Tile, ...]
    tile_notes: tuple[str, ...]  # which tiles have no movement, or are left out, and why
    exceptions: tuple[ExceptionGroup, ...]
    tables: tuple[FamilyTable, ...]
    links: tuple[Link, ...]  # all periods, figures.csv, figure_definitions.csv, manifest
    changes: Changes | None = None  # what moved since the last run (None: nothing, or first)
    trend: TrendBadge | None = None  # London's variance to plan month by month, if recorded


@dataclass(frozen=True)
class HistoryRow:
    """One of London's headline figures across periods (a cell per period, in time order)."""

    label: str  # with its unit, e.g. "Forecast outturn, London (£m)"
    definition: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class History:
    """The all-periods page: London's headline figures for every period side by side."""

    title: str
    periods: tuple[Link, ...]  # each period's overview, in time order
    period_labels: tuple[str, ...]
    rows: tuple[HistoryRow, ...]
