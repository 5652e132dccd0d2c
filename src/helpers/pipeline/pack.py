"""The period's board pack, ``outputs/<period>/board-pack.pdf``: built once after its reports.

Usage example (the runner does this for its periods, after their pages)::

    outcome = build_pack(plan, dirs, failed=set())
    outcome.status, outcome.pages, outcome.seconds        # ('built', 251, 50.2)
    build_packs([(plan_m10, ()), (plan_q1, ())], dirs, workers=2)   # stale ones in parallel

WeasyPrint renders one HTML document (:mod:`~.pack_html`: cover, contents with page numbers,
overview, London's and the clusters' reports, the appendix, definitions) into one tagged PDF,
PDF/UA-1: a title, a language, a structure tree with each chart's alt text, and a bookmark
for each part, group and report. Its dates are the period's end, never the clock, so the same
reports give the same bytes.

The pack is rebuilt only when what it shows may have changed. Its key hashes the fingerprints
of the reports it holds (each hashes its notebook, the helper package and templates, the
period's inputs, its parameters and the lock), the reports missing or failed, the appendix
option, the published figures and the WeasyPrint version; ``.state/board-pack.json`` records
the key and the PDF's hash once the PDF is in place. So a rerun with nothing changed, and a
forced rerun (same fingerprints, so the same reports), keep the pack; a changed report, option
or template, or a missing or altered PDF, rebuilds it. The PDF is written to a temporary file
and moved into place; a pack that cannot be built is a PackError (the reports and pages stay as
they are, an older pack is removed), and a machine that cannot store it a StorageError.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from helpers.errors import PackError, StorageError
from helpers.files import storage_faults, write_atomic
from helpers.paths import ProjectPaths
from helpers.pipeline.export import collect_figures, good_jobs
from helpers.pipeline.plan import (
    STATE_DIR,
    Plan,
    canonical_json,
    code_hash,
    file_sha256,
    fingerprint,
    read_stamp,
)
from helpers.pipeline.pool import run_in_workers

PACK_NAME = "board-pack.pdf"
#: WeasyPrint's options: PDF/UA-1 (tagged, with title, language and XMP metadata).
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_tags": True}


@dataclass(frozen=True)
class PackOutcome:
    """What became of a period's board pack: ``built`` or ``up to date``."""

    path: Path
    status: str
    pages: int = 0
    seconds: float = 0.0


def pack_path(plan: Plan) -> Path:
    """``outputs/<period>/board-pack.pdf``."""
    return plan.output_dir / PACK_NAME


def _stamp_path(plan: Plan) -> Path:
    return plan.output_dir / STATE_DIR / "board-pack.json"


def pack_key(plan: Plan, dirs: ProjectPaths, failed: Collection[str]) -> str:
    """The hash of everything the pack shows (no report is read: their fingerprints stand in)."""
    good = {j.name for j in good_jobs(plan)}
    published = dirs.published_figures
    parts = {
        "period": plan.period,
        "appendix": list(plan.params.appendix),
        "reports": sorted((j.name, j.fingerprint) for j in plan.jobs if j.name in good),
        "missing": sorted(j.name for j in plan.jobs if j.name not in good),
        "failed": sorted(failed),
        "code": code_hash(),
        "published": file_sha256(published) if published.is_file() else "",
        "weasyprint": metadata.version("weasyprint"),
        "options": PDF_OPTIONS,
    }
    return fingerprint(parts)


def pack_current(plan: Plan, dirs: ProjectPaths, failed: Collection[str] = ()) -> bool:
    """Whether the PDF in place is the one these reports and options make (nothing to do)."""
    stamp = read_stamp(_stamp_path(plan))
    pdf = pack_path(plan)
    return (
        pdf.is_file()
        and stamp.get("key") == pack_key(plan, dirs, failed)
        and stamp.get("sha256") == file_sha256(pdf)
    )


class _Errors(logging.Handler):
    """WeasyPrint's errors while it renders (an image it cannot load, a link to no anchor):
    it logs them and goes on, so a pack would silently miss a chart."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split())[:200])


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a while (as it was after).

    WeasyPrint keeps millions of objects alive while it renders a pack (the element tree,
    styles, boxes, then the PDF's objects), and each full collection walks all of them: a
    pack's render went through several, a quarter of its time. Reference counting still
    frees what is not in a cycle as it goes; :func:`render_pdf` collects the cycles once,
    between the layout and the PDF, so the peak memory stays as it was.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def render_pdf(html: str) -> tuple[bytes, int]:
    """The PDF of the pack's HTML and its number of pages; PackError if WeasyPrint reported an
    error (the pack would be incomplete)."""
    from weasyprint import HTML  # only when a pack is built (slow to import)

    errors = _Errors()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(errors)
    try:
        with _collector_paused():
            document = HTML(string=html).render(**PDF_OPTIONS)
            gc.collect()  # once: the layout's garbage, before the PDF's objects are made
            pdf = document.write_pdf(**PDF_OPTIONS)
    finally:
        logger.removeHandler(errors)
    if errors.messages:
        more = f" (and {len(errors.messages) - 1} more)" if len(errors.messages) > 1 else ""
        raise PackError(f"WeasyPrint: {errors.messages[0]}{more}")
    return pdf, len(document.pages)


def _remove(plan: Plan) -> None:
    """Remove the period's pack and its stamp: a pack that could not be rebuilt would describe
    other reports than those in place."""
    for path in (pack_path(plan), _stamp_path(plan)):
        with storage_faults(path):
            path.unlink(missing_ok=True)


def build_pack(
    plan: Plan, dirs: ProjectPaths, failed: Collection[str] = (), *, force: bool = False
) -> PackOutcome:
    """Build the period's board pack unless the one in place is current (or ``force``)."""
    path = pack_path(plan)
    key = pack_key(plan, dirs, failed)
    if not force and pack_current(plan, dirs, failed):
        return PackOutcome(path, "up to date")
    from helpers.pipeline.pack_html import pack_document, pack_outline  # only when built

    t0 = time.monotonic()
    try:
        outline = pack_outline(plan)
        html = pack_document(plan, outline, collect_figures(good_jobs(plan)), failed)
        pdf, pages = render_pdf(html)
    except PackError:
        _remove(plan)
        raise
    except (StorageError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a fault of the pack alone: the runner reports it, reports stay
        _remove(plan)
        raise PackError(f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}") from exc
    write_atomic(path, pdf)
    stamp = {"key": key, "sha256": file_sha256(path), "pages": pages}
    write_atomic(_stamp_path(plan), canonical_json(stamp) + "\n")
    return PackOutcome(path, "built", pages, time.monotonic() - t0)


def _attempt(request: tuple[Plan, ProjectPaths, tuple[str, ...]]) -> PackOutcome | PackError:
    """One period's pack, or the PackError that stopped it (so the other periods go on)."""
    plan, dirs, failed = request
    try:
        return build_pack(plan, dirs, failed, force=True)
    except PackError as exc:
        return exc


def build_packs(
    requests: list[tuple[Plan, Collection[str]]], dirs: ProjectPaths, workers: int
) -> list[PackOutcome | PackError]:
    """Each period's pack, in order: current ones kept, stale ones built, several at once in
    forked workers (one WeasyPrint document each: a pack cannot be split across processes
    and keep its tags, contents and bookmarks)."""
    out: list[PackOutcome | PackError] = [
        PackOutcome(pack_path(plan), "up to date") for plan, _ in requests
    ]
    stale = [
        (i, (plan, dirs, tuple(sorted(failed))))
        for i, (plan, failed) in enumerate(requests)
        if not pack_current(plan, dirs, failed)
    ]
    if len(stale) > 1 and workers > 1:
        built = run_in_workers(_attempt, [request for _, request in stale], workers)
    else:
        built = [_attempt(request) for _, request in stale]
    for (i, _), outcome in zip(stale, built, strict=True):
        out[i] = outcome
    return out
