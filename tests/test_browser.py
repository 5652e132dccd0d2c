"""A real browser: headless Chromium opens a period's overview, the all-periods page and a
report of each family, and axe-core checks them against WCAG 2.2 AA.

Chromium is driven through the Chrome DevTools Protocol (its websocket, with tornado). The
pages must load without console errors or uncaught exceptions and have no serious or critical
axe violation (axe-core is injected from ``.test-tools/``, where ``make browser`` installs the
version pinned in ``tests/axe/package-lock.json``). The overview must show London's tiles and
the exceptions as the board reads them (checked against figures.csv with expected text written
here, independently of the kit's formatting), link only to files and anchors that exist, narrow
its tables with the filter, sort them by a clicked header, and read fully with JavaScript off.
Screenshots and axe's findings are kept under ``.test-artifacts/browser/``. Without Chromium
or axe-core the tests skip, except on CI (``$CI`` set, as ``.ci/run`` does), where that is a
failure."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tornado.websocket import WebSocketClientConnection, websocket_connect

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / ".test-artifacts" / "browser"
PERIOD = "2011-12-Q1"
#: Exactly the flags the issue names; the profile and the DevTools port are added per run.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
)
START_TIMEOUT = 60.0
CDP_TIMEOUT = 60.0
#: London's tiles on the overview: (tile id, notebook, figure whose value it prints in £m).
TILE_AMOUNTS = (
    ("forecast_outturn", "regional_outturn", "region_forecast_outturn_gbp_m"),
    ("ytd", "regional_outturn", "region_ytd_actual_gbp_m"),
)
#: London's figures that its regional_outturn report must show in board style (£m).
REPORT_FIGURES = (
    "region_forecast_outturn_gbp_m",
    "region_forecast_variance_to_plan_gbp_m",
    "trusts_forecast_outturn_gbp_m",
    "pcts_forecast_outturn_gbp_m",
)
#: One report of each family, checked with axe.
AXE_REPORTS = (
    ("regional_outturn", "Q36"),
    ("provider_shortfall", "RF4"),
    ("pct_support_needs", "5C9"),
    ("cluster_milestone_slippage", "NCL"),
)
AXE = REPO / ".test-tools" / "node_modules" / "axe-core" / "axe.min.js"
#: axe impacts that fail the check (WCAG 2.2 AA: no serious or critical violation).
BLOCKING = ("serious", "critical")
#: Every rule axe runs by default (WCAG 2.0-2.2 A and AA, and best practices), violations only.
AXE_RUN = """axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)})))"""


def on_ci() -> bool:
    """Whether we run on CI, where the browser test must not skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# --- expected text, written independently of helpers.pipeline.export -------------------------


def board_gbp_m(value: float) -> str:
    """A £m figure as a table shows it: ``215.4``, a deficit ``(106.8)``."""
    shown = f"{abs(value):,.1f}"
    return f"({shown})" if round(value, 1) < 0 else shown


def board_amount(value: float) -> str:
    """A £m amount as text shows it (its sign in words): ``£106.8m``."""
    return f"£{abs(value):,.1f}m"


def period_figures(outputs: Path) -> dict[tuple[str, str, str], tuple[float, str]]:
    """figures.csv of a period: (notebook, org_code, figure) -> (value, unit)."""
    with (outputs / "figures.csv").open(encoding="utf-8", newline="") as f:
        return {
            (r["notebook"], r["org_code"], r["figure"]): (float(r["value"]), r["unit"])
            for r in csv.DictReader(f)
        }


# --- a minimal DevTools client ---------------------------------------------------------------


class CdpError(RuntimeError):
    """Chromium answered a DevTools command with an error."""


@dataclass
class Page:
    """One browser tab over its DevTools websocket: commands, and the events it sent."""

    conn: WebSocketClientConnection
    events: list[dict[str, Any]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _replies: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str) -> Page:
        """Connect to a tab's ``webSocketDebuggerUrl`` and start reading."""
        page = cls(await websocket_connect(url, max_message_size=256 * 2**20))
        page._reader = asyncio.create_task(page._read())
        return page

    async def _read(self) -> None:
        while (raw := await self.conn.read_message()) is not None:
            msg = json.loads(raw)
            if "id" in msg:
                reply = self._replies.pop(msg["id"], None)
                if reply is not None and not reply.done():
                    reply.set_result(msg)
            else:
                self.events.append(msg)
                self._arrived.set()
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(CdpError("the DevTools connection closed"))

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run one DevTools command; its ``result``."""
        msg_id = next(self._ids)
        reply = asyncio.get_running_loop().create_future()
        self._replies[msg_id] = reply
        await self.conn.write_message(
            json.dumps({"id": msg_id, "method": method, "params": params})
        )
        msg = await asyncio.wait_for(reply, CDP_TIMEOUT)
        if "error" in msg:
            raise CdpError(f"{method}: {msg['error']}")
        result: dict[str, Any] = msg["result"]
        return result

    async def event(self, method: str, since: int) -> dict[str, Any]:
        """The first ``method`` event at or after index ``since`` (waiting for it)."""
        deadline = time.monotonic() + CDP_TIMEOUT
        while True:
            for msg in self.events[since:]:
                if msg["method"] == method:
                    return msg
            self._arrived.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {method} event within {CDP_TIMEOUT:.0f} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def load(self, action: str, **params: Any) -> None:
        """Run ``action`` (Page.navigate, or a Runtime.evaluate click) and wait for load."""
        mark = len(self.events)
        result = await self.send(action, **params)
        assert "errorText" not in result, result
        await self.event("Page.loadEventFired", mark)

    async def js(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def screenshot(self, path: Path) -> None:
        """Save a PNG of the viewport."""
        shot = await self.send("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        found = []
        for msg in self.events:
            method, params = msg["method"], msg.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = [a.get("value", a.get("description")) for a in params.get("args", [])]
                found.append(f"console.{params['type']}: {args}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(f"uncaught: {details.get('exception', {}).get('description')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                found.append(f"log: {entry.get('text')} ({entry.get('url', '')})")
        return found

    async def close(self) -> None:
        """Close the websocket and stop reading."""
        self.conn.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 10)


@dataclass
class Chromium:
    """A headless Chromium with its DevTools HTTP endpoint."""

    proc: subprocess.Popen[bytes]
    http: str
    log: Path

    def new_tab(self) -> str:
        """Open an about:blank tab; its DevTools websocket URL."""
        request = urllib.request.Request(f"{self.http}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=30) as response:
            target = json.loads(response.read())
        return str(target["webSocketDebuggerUrl"])


def devtools_port(profile: Path, proc: subprocess.Popen[bytes], log: Path) -> int:
    """The port Chromium chose (``--remote-debugging-port=0``), from ``DevToolsActivePort``."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chromium exited ({proc.returncode}):\n{log.read_text(errors='replace')}")
        lines = active.read_text().splitlines() if active.exists() else []
        if len(lines) >= 2 and lines[0].isdigit():
            return int(lines[0])
        time.sleep(0.1)
    pytest.fail(f"chromium wrote no DevToolsActivePort:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """Debian's chromium, headless, with a fresh profile (skipped if missing, except on CI)."""
    exe = shutil.which("chromium")
    if exe is None:
        reason = "chromium is not installed (make test installs Debian's package with apt-get)"
        if on_ci():
            pytest.fail(f"CI is set and {reason}")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("chromium")
    profile, log = folder / "profile", folder / "chromium.log"
    args = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*args, "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        port = devtools_port(profile, proc, log)
        yield Chromium(proc, f"http://127.0.0.1:{port}", log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


async def open_page(chromium: Chromium) -> Page:
    """A new tab with the Runtime, Log and Page domains reporting, at a fixed window size."""
    page = await Page.open(chromium.new_tab())
    for domain in ("Runtime", "Log", "Page"):
        await page.send(f"{domain}.enable")
    await page.send(
        "Emulation.setDeviceMetricsOverride",
        width=1280,
        height=1600,
        deviceScaleFactor=1,
        mobile=False,
    )
    return page


def file_of(url: str) -> Path:
    """The local file a ``file://`` URL points at (query and fragment dropped)."""
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "file", f"not a local file: {url}"
    return Path(urllib.request.url2pathname(parts.path))


# --- axe-core -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script (``make browser`` installs it with npm; skipped if missing, not on CI)."""
    if not AXE.is_file():
        reason = "axe-core is not installed (make test installs it into .test-tools/ with npm ci)"
        if on_ci():
            pytest.fail(f"CI is set and {reason}")
        pytest.skip(reason)
    return AXE.read_text(encoding="utf-8")


async def axe_violations(page: Page, source: str, name: str) -> list[dict[str, Any]]:
    """Inject axe into the page, run every default rule; the violations (kept as an artifact)."""
    await page.send("Runtime.evaluate", expression=source)
    assert await page.js("typeof axe.run") == "function"
    result = await page.send(
        "Runtime.evaluate", expression=AXE_RUN, awaitPromise=True, returnByValue=True
    )
    assert "exceptionDetails" not in result, result
    found: list[dict[str, Any]] = result["result"]["value"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.axe.json").write_text(json.dumps(found, indent=2), encoding="utf-8")
    return found


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The serious and critical ones."""
    return [v for v in violations if v.get("impact") in BLOCKING]


# --- the tests --------------------------------------------------------------------------------

VISIBLE_ROWS = """[...document.querySelectorAll("table[data-filterable] tbody tr")]
  .filter(r => r.offsetParent !== null).map(r => r.getAttribute("data-filter"))"""
ROWS_OF = """[...document.querySelectorAll("#family-%s tbody.organisations tr")]
  .map(r => r.cells[1].textContent)"""
FILTER = """(() => { const box = document.getElementById("filter"); box.value = %s;
  box.dispatchEvent(new Event("input"));
  return document.getElementById("filter-status").textContent; })()"""
SORT_BY = """(() => { const th = [...document.querySelectorAll("#family-%s thead th")]
  .find(h => h.textContent.trim().startsWith(%s)); th.querySelector("button").click();
  return th.getAttribute("aria-sort"); })()"""


async def browse_overview(chromium: Chromium, outputs: Path, axe: str) -> dict[str, Any]:
    """Open the overview: its text, tiles, exceptions and links; filter, sort, run axe."""
    page = await open_page(chromium)
    try:
        await page.load("Page.navigate", url=(outputs / "index.html").as_uri())
        seen: dict[str, Any] = {
            "title": await page.js("document.title"),
            "text": await page.js("document.body.innerText"),
            "links": await page.js("[...document.querySelectorAll('a[href]')].map(a => a.href)"),
            "ids": await page.js("[...document.querySelectorAll('[id]')].map(e => e.id)"),
            "tiles": await page.js(
                "[...document.querySelectorAll('.tile')].map(t => [t.id, t.innerText])"
            ),
            "exceptions": await page.js(
                "[...document.querySelectorAll('.exception')].map(s => [s.id, s.innerText])"
            ),
        }
        await page.screenshot(ARTIFACTS / f"{outputs.name}-overview.png")
        seen["all_rows"] = await page.js(VISIBLE_ROWS)
        seen["filter_status"] = await page.js(FILTER % json.dumps("Haringey Teaching"))
        seen["filtered_rows"] = await page.js(VISIBLE_ROWS)
        await page.screenshot(ARTIFACTS / f"{outputs.name}-overview-filtered.png")
        await page.js(FILTER % json.dumps(""))
        seen["rows_after_clearing"] = await page.js(VISIBLE_ROWS)
        seen["trusts_worst_first"] = await page.js(ROWS_OF % "provider_shortfall")
        seen["sorted_by_code"] = await page.js(SORT_BY % ("provider_shortfall", '"Code"'))
        seen["trusts_by_code"] = await page.js(ROWS_OF % "provider_shortfall")
        seen["sorted_again"] = await page.js(SORT_BY % ("provider_shortfall", '"Code"'))
        seen["trusts_by_code_desc"] = await page.js(ROWS_OF % "provider_shortfall")
        seen["axe"] = await axe_violations(page, axe, f"{outputs.name}-overview")
        seen["problems"] = page.problems()
        click = "document.querySelector('a[href=\"regional_outturn/Q36.html\"]').click()"
        await page.load("Runtime.evaluate", expression=click)
        seen["followed_url"] = await page.js("location.href")
        seen["followed_title"] = await page.js("document.title")
        return seen
    finally:
        await page.close()


async def browse_without_script(chromium: Chromium, url: str) -> dict[str, Any]:
    """Open a page with JavaScript disabled: its text, and the tables' rows as shipped."""
    page = await open_page(chromium)
    try:
        await page.send("Emulation.setScriptExecutionDisabled", value=True)
        await page.load("Page.navigate", url=url)
        return {
            "text": await page.js("document.body.innerText"),
            "filter": await page.js("document.getElementById('filter') !== null"),
            "buttons": await page.js("document.querySelectorAll('th button').length"),
            "rows": await page.js(VISIBLE_ROWS),
            "trusts": await page.js(ROWS_OF % "provider_shortfall"),
        }
    finally:
        await page.close()


async def browse(chromium: Chromium, path: Path, axe: str, name: str) -> dict[str, Any]:
    """Open a page: title, text, images and their alt text, tables, axe, a screenshot."""
    page = await open_page(chromium)
    try:
        await page.load("Page.navigate", url=path.as_uri())
        seen = {
            "title": await page.js("document.title"),
            "lang": await page.js("document.documentElement.lang"),
            "text": await page.js("document.body.innerText"),
            "images": await page.js(
                "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length"
            ),
            "alts": await page.js("[...document.images].map(i => i.alt)"),
            "tables": await page.js(
                """[...document.querySelectorAll("table.nhs-kit-table, table.history")].map(t => [
                  t.caption ? t.caption.textContent : "",
                  t.querySelectorAll("thead th[scope=col]").length,
                  t.querySelectorAll("thead th:not([scope])").length])"""
            ),
            "links": await page.js("[...document.querySelectorAll('a[href]')].map(a => a.href)"),
            "main": await page.js("document.querySelectorAll('main').length"),
        }
        await page.screenshot(ARTIFACTS / f"{name}.png")
        seen["axe"] = await axe_violations(page, axe, name)
        seen["problems"] = page.problems()
        return seen
    finally:
        await page.close()


def _figure(figures: dict[tuple[str, str, str], tuple[float, str]], *key: str) -> float:
    notebook, org, name = key
    return figures[notebook, org, name][0]


@pytest.mark.slow
def test_overview_in_chromium(chromium: Chromium, sample_run: Path, axe_source: str) -> None:
    outputs = sample_run / "outputs" / PERIOD
    figures = period_figures(outputs)
    seen = asyncio.run(browse_overview(chromium, outputs, axe_source))

    assert seen["problems"] == [], seen["problems"]
    assert PERIOD in seen["title"]
    assert blocking(seen["axe"]) == [], blocking(seen["axe"])

    # London's tiles: each with its label, its amount in numbers and its sign in words, a
    # favourable or adverse word (not only a colour) and the movement where there is one.
    tiles = dict(seen["tiles"])
    assert list(tiles) == [
        "tile-forecast_outturn",
        "tile-ytd",
        "tile-cip",
        "tile-qipp",
        "tile-behind_plan",
        "tile-needs_support",
        "tile-missed_milestones",
    ]
    for key, notebook, name in TILE_AMOUNTS:
        value = _figure(figures, notebook, "Q36", name)
        text = tiles[f"tile-{key}"]
        assert board_amount(value) in text, (key, value, text)
        assert ("surplus" if value > 0 else "deficit") in text
    assert tiles["tile-forecast_outturn"].startswith("Forecast outturn, London\n")
    moved = _figure(figures, "regional_outturn", "Q36", "region_forecast_movement_gbp_m")
    assert (
        f"Movement: {'up' if moved > 0 else 'down'} {board_amount(moved)} since"
        in tiles["tile-forecast_outturn"]
    )
    for key in ("tile-cip", "tile-qipp"):
        assert "savings returns are period-level" in tiles[key]
    for text in tiles.values():
        assert any(word in text for word in ("Favourable", "Adverse", "On plan")), text
        assert "£(" not in text and "m)" not in text.replace("(M02)", "")
    support = _figure(figures, "pct_support_needs", "Q36", "pcts_needing_support_count")
    assert f"\n{round(support)} PCTs\n" in tiles["tile-needs_support"]

    # The exceptions name each organisation with its amount.
    exceptions = dict(seen["exceptions"])
    assert set(exceptions) == {
        "exceptions-behind_plan",
        "exceptions-needs_support",
        "exceptions-missed_milestones",
    }
    needing = [
        org
        for (notebook, org, name), (value, _) in figures.items()
        if notebook == "pct_support_needs" and name == "needs_support" and value == 1
    ]
    assert len(needing) == round(support)
    for org in needing:
        before = _figure(figures, "pct_support_needs", org, "outturn_before_support_gbp_m")
        assert (
            f"({org}): a deficit of {board_amount(before)} before support"
            in exceptions["exceptions-needs_support"]
        )
    assert "No NHS trust is significantly behind plan." in exceptions["exceptions-behind_plan"]
    assert (
        "North West London (NWL): 6 of 32 milestones due were missed"
        in exceptions["exceptions-missed_milestones"]
    )

    # Every link resolves (files, and anchors in the page), and every report is linked.
    targets = {file_of(url) for url in seen["links"]}
    missing = sorted(str(t) for t in targets if not t.is_file())
    assert not missing, missing
    anchors = {urllib.parse.urlsplit(u).fragment for u in seen["links"]} - {""}
    assert anchors <= set(seen["ids"]), anchors - set(seen["ids"])
    reports = {outputs / notebook / f"{org}.html" for notebook, org, _ in figures}
    notebooks = {outputs / notebook / f"{org}.ipynb" for notebook, org, _ in figures}
    assert reports | notebooks <= targets, sorted(str(r) for r in (reports | notebooks) - targets)
    assert sample_run / "outputs" / "index.html" in targets

    # The filter narrows the tables, and clearing it brings every row back.
    assert len(seen["all_rows"]) == len(reports)
    assert seen["filtered_rows"] == ["haringey teaching pct 5c9"]
    assert seen["filter_status"] == f"Showing 1 of {len(reports)} reports."
    assert seen["rows_after_clearing"] == seen["all_rows"]
    # Clicking a header sorts by it, and again the other way; the worst come first before.
    shares = {
        org: value
        for (notebook, org, name), (value, _) in figures.items()
        if notebook == "provider_shortfall" and name == "variance_pct_of_turnover"
    }
    assert seen["trusts_worst_first"] == sorted(shares, key=lambda o: (shares[o], o))
    assert (seen["sorted_by_code"], seen["sorted_again"]) == ("ascending", "descending")
    assert seen["trusts_by_code"] == sorted(shares)
    assert seen["trusts_by_code_desc"] == sorted(shares, reverse=True)

    report = outputs / "regional_outturn" / "Q36.html"
    assert file_of(seen["followed_url"]) == report
    assert "NHS London (Q36)" in seen["followed_title"] and PERIOD in seen["followed_title"]
    assert (ARTIFACTS / f"{PERIOD}-overview.png").stat().st_size > 0


@pytest.mark.slow
def test_overview_reads_with_javascript_off(chromium: Chromium, sample_run: Path) -> None:
    outputs = sample_run / "outputs" / PERIOD
    figures = period_figures(outputs)
    seen = asyncio.run(browse_without_script(chromium, (outputs / "index.html").as_uri()))
    assert not seen["filter"] and seen["buttons"] == 0  # no controls that would not work
    assert "London at a glance" in seen["text"] and "Exceptions" in seen["text"]
    value = _figure(figures, "regional_outturn", "Q36", "region_forecast_outturn_gbp_m")
    assert f"Forecast a surplus of {board_amount(value)}" in seen["text"]
    reports = {(notebook, org) for notebook, org, _ in figures}
    assert len(seen["rows"]) == len(reports)  # every report, in the order shipped
    shares = {
        org: value
        for (notebook, org, name), (value, _) in figures.items()
        if notebook == "provider_shortfall" and name == "variance_pct_of_turnover"
    }
    assert seen["trusts"] == sorted(shares, key=lambda o: (shares[o], o))


@pytest.mark.slow
def test_all_periods_page_in_chromium(
    chromium: Chromium, sample_run: Path, axe_source: str
) -> None:
    outputs = sample_run / "outputs"
    seen = asyncio.run(browse(chromium, outputs / "index.html", axe_source, "all-periods"))
    assert seen["problems"] == [] and blocking(seen["axe"]) == [], seen["axe"]
    text = seen["text"]
    assert text.index("2010-11-M10") < text.index("2011-12-Q1")  # time order
    row = next(line for line in text.splitlines() if line.startswith("Forecast outturn, London"))
    expected = [
        board_gbp_m(period_figures(outputs / p)["regional_outturn", "Q36", name][0])
        for p in ("2010-11-M10", "2011-12-Q1")
        for name in ["region_forecast_outturn_gbp_m"]
    ]
    assert row.split("\t")[1:] == expected, row
    assert seen["tables"] and all(
        caption and cols and not bare for caption, cols, bare in seen["tables"]
    )
    targets = {file_of(url) for url in seen["links"]}
    assert {outputs / p / "index.html" for p in ("2010-11-M10", PERIOD)} <= targets
    assert all(t.is_file() for t in targets)


@pytest.mark.slow
@pytest.mark.parametrize(("family", "org"), AXE_REPORTS)
def test_a_report_of_each_family_passes_axe(
    chromium: Chromium, sample_run: Path, axe_source: str, family: str, org: str
) -> None:
    report = sample_run / "outputs" / PERIOD / family / f"{org}.html"
    seen = asyncio.run(browse(chromium, report, axe_source, f"{PERIOD}-{family}-{org}"))
    assert seen["problems"] == [], seen["problems"]
    assert blocking(seen["axe"]) == [], blocking(seen["axe"])
    assert seen["lang"] == "en" and seen["main"] == 1 and f"({org})" in seen["title"]
    assert seen["images"] >= 1 and all(alt.strip() for alt in seen["alts"]), seen["alts"]
    assert seen["tables"], "board tables"
    for caption, with_scope, without in seen["tables"]:
        assert caption and with_scope and not without, (caption, with_scope, without)


@pytest.mark.slow
def test_london_report_in_chromium(chromium: Chromium, sample_run: Path) -> None:
    outputs = sample_run / "outputs" / PERIOD
    figures = period_figures(outputs)
    page = outputs / "regional_outturn" / "Q36.html"
    seen = asyncio.run(browse_without_script(chromium, page.as_uri()))
    text = seen["text"]
    assert "open_report(" not in text, "board copies hide the code"
    for name in REPORT_FIGURES:
        value, unit = figures["regional_outturn", "Q36", name]
        assert unit == "gbp_m"
        assert board_gbp_m(value) in text, (name, value)  # its table cell
    outturn = figures["regional_outturn", "Q36", "region_forecast_outturn_gbp_m"][0]
    assert f"London forecasts a surplus of {board_amount(outturn)}" in text


@pytest.mark.slow
def test_axe_finds_what_it_should(chromium: Chromium, axe_source: str, tmp_path: Path) -> None:
    """The check can fail: an image without alt text and faint text are serious or worse."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html lang="en"><head><title>Bad</title></head><body><main>'
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
        '<p style="color:#cccccc;background:#ffffff">Faint text</p></main></body></html>',
        encoding="utf-8",
    )
    seen = asyncio.run(browse(chromium, bad, axe_source, "axe-self-check"))
    found = {v["id"]: v["impact"] for v in blocking(seen["axe"])}
    assert found.get("image-alt") == "critical", seen["axe"]
    assert found.get("color-contrast") == "serious", seen["axe"]
