"""A real browser: headless Chromium opens a period's index.html and a report's HTML.

Chromium is driven through the Chrome DevTools Protocol (its websocket, with tornado). The
pages must load without console errors or uncaught exceptions, show the headline figures of
figures.csv as the board reads them, and link only to files that exist. Screenshots are kept
under ``.test-artifacts/browser/``. Without Chromium the tests skip, except on CI (``$CI``
set, as ``.ci/run`` does), where a missing browser is a failure.
"""

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
#: Figures checked on the index: (notebook, org_code, figure), as figures.csv names them.
INDEX_FIGURES = (
    ("regional_outturn", "Q36", "region_forecast_outturn_gbp_m"),
    ("regional_outturn", "Q36", "trusts_forecast_outturn_gbp_m"),
    ("provider_shortfall", "Q36", "providers_savings_shortfall_pct"),
    ("pct_support_needs", "Q36", "pcts_needing_support_count"),
    ("cluster_milestone_slippage", "Q36", "milestones_missed_count"),
)
#: London's figures that its regional_outturn report must show in board style (£m).
REPORT_FIGURES = (
    "region_forecast_outturn_gbp_m",
    "region_forecast_variance_to_plan_gbp_m",
    "trusts_forecast_outturn_gbp_m",
    "pcts_forecast_outturn_gbp_m",
)


def on_ci() -> bool:
    """Whether we run on CI, where the browser test must not skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# --- expected text, written independently of helpers.pipeline.export -------------------------


def text_gbp_m(value: float) -> str:
    """Board style in text: the size ``£106.8m`` (the words around it say deficit or surplus)."""
    return f"£{abs(value):,.1f}m"


def board_gbp_m(value: float) -> str:
    """A £m figure as a table shows it: ``215.4 (£m)``, a deficit ``(106.8) (£m)``."""
    shown = f"{abs(value):,.1f}"
    return f"({shown}) (£m)" if round(value, 1) < 0 else f"{shown} (£m)"


def index_text(figure: str, value: float, unit: str) -> str:
    """How the index lists a figure: ``region forecast outturn: £215.4m``."""
    label = figure
    for suffix in ("_gbp_m", "_pct", "_count"):
        label = label.removesuffix(suffix)
    shown = {
        "gbp_m": board_gbp_m(value),
        "pct": f"{value:.1f}%",
        "count": str(round(value)),
        "flag": "yes" if value else "no",
    }[unit]
    return f"{label.replace('_', ' ')}: {shown}"


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


# --- the tests --------------------------------------------------------------------------------


async def browse_index(chromium: Chromium, outputs: Path) -> dict[str, Any]:
    """Open the index, read its text and links, follow London's report link."""
    page = await open_page(chromium)
    try:
        await page.load("Page.navigate", url=(outputs / "index.html").as_uri())
        seen: dict[str, Any] = {
            "title": await page.js("document.title"),
            "text": await page.js("document.body.innerText"),
            "links": await page.js("[...document.querySelectorAll('a[href]')].map(a => a.href)"),
        }
        await page.screenshot(ARTIFACTS / f"{outputs.name}-index.png")
        seen["index_problems"] = page.problems()
        click = "document.querySelector('a[href=\"regional_outturn/Q36.html\"]').click()"
        await page.load("Runtime.evaluate", expression=click)
        seen["followed_url"] = await page.js("location.href")
        seen["followed_title"] = await page.js("document.title")
        seen["problems"] = page.problems()
        return seen
    finally:
        await page.close()


async def browse_report(chromium: Chromium, report: Path) -> dict[str, Any]:
    """Open one report's HTML; its title, text and problems, and a screenshot."""
    page = await open_page(chromium)
    try:
        await page.load("Page.navigate", url=report.as_uri())
        seen = {
            "title": await page.js("document.title"),
            "text": await page.js("document.body.innerText"),
            "images": await page.js(
                "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length"
            ),
        }
        family, period = report.parent.name, report.parent.parent.name
        await page.screenshot(ARTIFACTS / f"{period}-{family}-{report.stem}.png")
        seen["problems"] = page.problems()
        return seen
    finally:
        await page.close()


@pytest.mark.slow
def test_index_in_chromium(chromium: Chromium, sample_run: Path) -> None:
    outputs = sample_run / "outputs" / PERIOD
    figures = period_figures(outputs)
    seen = asyncio.run(browse_index(chromium, outputs))

    assert seen["problems"] == [], seen["problems"]
    assert PERIOD in seen["title"]
    for key in INDEX_FIGURES:
        value, unit = figures[key]
        assert index_text(key[2], value, unit) in seen["text"], (key, value)

    # Every link resolves to a file that exists, and every report in figures.csv is linked.
    targets = {file_of(url) for url in seen["links"]}
    missing = sorted(str(t) for t in targets if not t.is_file())
    assert not missing, missing
    reports = {outputs / notebook / f"{org}.html" for notebook, org, _ in figures}
    assert reports <= targets, sorted(str(r) for r in reports - targets)
    assert sample_run / "outputs" / "index.html" in targets

    report = outputs / "regional_outturn" / "Q36.html"
    assert file_of(seen["followed_url"]) == report
    assert "NHS London (Q36)" in seen["followed_title"] and PERIOD in seen["followed_title"]
    assert (ARTIFACTS / f"{PERIOD}-index.png").stat().st_size > 0


@pytest.mark.slow
def test_london_report_in_chromium(chromium: Chromium, sample_run: Path) -> None:
    outputs = sample_run / "outputs" / PERIOD
    figures = period_figures(outputs)
    seen = asyncio.run(browse_report(chromium, outputs / "regional_outturn" / "Q36.html"))

    assert seen["problems"] == [], seen["problems"]
    assert seen["title"].startswith("Forecast outturn against plan: NHS London (Q36)")
    for name in REPORT_FIGURES:
        value, unit = figures["regional_outturn", "Q36", name]
        assert unit == "gbp_m"
        assert text_gbp_m(value) in seen["text"], (name, value)
    assert "open_report(" not in seen["text"], "board copies hide the code"
    assert seen["images"] >= 2, "the report's charts render"
    assert (ARTIFACTS / f"{PERIOD}-regional_outturn-Q36.png").stat().st_size > 0
