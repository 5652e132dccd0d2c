"""The period overview and the all-periods page, from the back test's recorded figures.

No kernel runs here: a plan of a project copy and the committed ``tests/backtest`` figures
(what a full run of each sample period records) are enough to build the overview and render
its pages. The browser test (tests/test_browser.py) opens real pages of a real run.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from kit_project import make_project

from helpers import formats
from helpers.paths import ProjectPaths
from helpers.pipeline.overview import Overview, build_history, build_overview
from helpers.pipeline.pages import overview_body, period_page, write_outputs_index
from helpers.pipeline.params import load_params
from helpers.pipeline.plan import Job, Plan, build_plan
from helpers.report.registry import FAMILIES

BACKTEST = Path(__file__).parent / "backtest"
Q1, M10 = "2011-12-Q1", "2010-11-M10"


def recorded(period: str) -> pd.DataFrame:
    """figures.csv of a full run of the sample period (the back test's ground truth)."""
    return pd.read_csv(BACKTEST / f"{period}.figures.csv", dtype={"org_code": str})


def plan_of(root: Path, period: str) -> Plan:
    dirs = ProjectPaths.under(root)
    return build_plan(load_params(root / "params" / f"{period}.yaml", dirs), dirs)


def pretend_ran(job: Job, good: bool = True) -> None:
    """Write a job's outputs (and, if good, the stamp that makes it up to date)."""
    job.output_dir.mkdir(parents=True, exist_ok=True)
    job.ipynb.write_text("{}", encoding="utf-8")
    job.html.write_text("<!DOCTYPE html>", encoding="utf-8")
    if good:
        job.stamp.parent.mkdir(parents=True, exist_ok=True)
        job.stamp.write_text(json.dumps({"fingerprint": job.fingerprint}), encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("overview"))


@pytest.fixture(scope="module")
def q1(project: Path) -> tuple[Plan, Overview]:
    plan = plan_of(project, Q1)
    for job in plan.jobs:
        pretend_ran(job)
    return plan, build_overview(plan, recorded(Q1))


def value(frame: pd.DataFrame, notebook: str, org: str, figure: str) -> float:
    row = frame.loc[
        (frame["notebook"] == notebook) & (frame["org_code"] == org) & (frame["figure"] == figure)
    ]
    return float(row["value"].item())


class _Text(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.feed(html)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())


# --- tiles ----------------------------------------------------------------------------------


def test_tiles_say_londons_headline_figures_in_words_and_numbers(q1: tuple[Plan, Overview]) -> None:
    _, overview = q1
    figs = recorded(Q1)
    tiles = {t.key: t for t in overview.tiles}
    assert list(tiles) == [
        "forecast_outturn",
        "ytd",
        "cip",
        "qipp",
        "behind_plan",
        "needs_support",
        "missed_milestones",
    ]
    forecast = tiles["forecast_outturn"]
    outturn = value(figs, "regional_outturn", "Q36", "region_forecast_outturn_gbp_m")
    variance = value(figs, "regional_outturn", "Q36", "region_forecast_variance_to_plan_gbp_m")
    assert (
        forecast.label == FAMILIES["regional_outturn"].figure("region_forecast_outturn_gbp_m").label
    )
    assert (
        (forecast.number, forecast.qualifier)
        == ("£215.4m", "surplus")
        == (
            formats.amount(outturn),
            "surplus",
        )
    )
    assert formats.signed_phrase(variance) in forecast.sentence  # "£8.7m above plan"
    assert forecast.judgement.word == "Favourable" and forecast.judgement.shape == "✔"
    assert forecast.movement == "up £2.8m since the May 2011 return (M02), favourable"
    ytd = tiles["ytd"]
    assert (ytd.number, ytd.qualifier) == ("£3.1m", "deficit")
    assert "£15.5m below plan" in ytd.sentence and ytd.judgement.word == "Adverse"
    assert ytd.movement is None and "month only" in (ytd.no_movement or "")
    for key in ("cip", "qipp"):
        assert tiles[key].movement is None and "period-level" in (tiles[key].no_movement or "")
    assert tiles["cip"].number == "11.5%" and "£56.2m below plan" in tiles["cip"].sentence
    assert tiles["behind_plan"].sentence.startswith("No NHS trust is significantly behind plan")
    assert tiles["behind_plan"].judgement.word == "Favourable"  # none, and fewer is better
    assert (
        tiles["needs_support"].number == "3" and tiles["needs_support"].judgement.word == "Adverse"
    )
    assert tiles["missed_milestones"].qualifier == "of 129 due"
    for tile in overview.tiles:
        assert "(" not in tile.number and not re.search(
            r"£\(", tile.sentence
        )  # no brackets in text
        assert tile.definition and tile.link is not None
    assert any("Only London's forecast outturn" in n for n in overview.tile_notes)


def test_a_period_without_cluster_reports_says_why_it_has_no_milestones_tile(
    project: Path,
) -> None:
    overview = build_overview(plan_of(project, M10), recorded(M10))
    tiles = {t.key: t for t in overview.tiles}
    assert "missed_milestones" not in tiles
    assert any("no QIPP milestones tile" in n for n in overview.tile_notes)
    assert (
        tiles["forecast_outturn"].movement
        == "down £23.9m since the December 2010 return (M09), adverse"
    )
    assert tiles["behind_plan"].sentence.startswith("Eight NHS trusts are significantly behind")
    assert [g.key for g in overview.exceptions] == ["behind_plan", "needs_support"]


def test_a_missing_figure_is_said_not_guessed(project: Path) -> None:
    figs = recorded(Q1)
    figs = figs.loc[figs["notebook"] != "regional_outturn"]
    overview = build_overview(plan_of(project, Q1), figs)
    tiles = {t.key: t for t in overview.tiles}
    assert tiles["forecast_outturn"].number == "—"
    assert tiles["forecast_outturn"].judgement.word == "Not available"
    assert "recorded no figure" in tiles["forecast_outturn"].sentence
    assert tiles["cip"].number == "11.5%"  # from the provider report instead


# --- exceptions and tables ------------------------------------------------------------------


def test_exceptions_name_each_organisation_with_its_amount_and_report(project: Path) -> None:
    plan = plan_of(project, M10)
    for job in plan.jobs:
        pretend_ran(job)
    overview = build_overview(plan, recorded(M10))
    behind = overview.exceptions[0]
    figs = recorded(M10)
    flagged = figs.loc[(figs["figure"] == "significantly_behind_plan") & (figs["value"] == 1)]
    assert {i.org_code for i in behind.items} == set(flagged["org_code"])
    assert len(behind.items) == 8 and behind.note == ""
    shares = [
        value(figs, "provider_shortfall", i.org_code, "variance_pct_of_turnover")
        for i in behind.items
    ]
    assert shares == sorted(shares), "worst first"
    first = behind.items[0]
    variance = value(figs, "provider_shortfall", first.org_code, "variance_to_plan_gbp_m")
    assert first.detail.startswith(formats.signed_phrase(variance))
    assert first.link is not None and first.link.href == f"provider_shortfall/{first.org_code}.html"
    assert first.link.text == f"{first.name} ({first.org_code})"


def test_exceptions_say_when_reports_are_missing(project: Path, tmp_path: Path) -> None:
    plan = plan_of(project, Q1)
    figs = recorded(Q1)
    figs = figs.loc[~((figs["notebook"] == "pct_support_needs") & (figs["org_code"] == "5C9"))]
    support = build_overview(plan, figs).exceptions[1]
    assert "5C9" not in {i.org_code for i in support.items}
    assert (
        "not up to date" in support.note
        and "London's report counts 3; 2 are listed" in support.note
    )


def test_family_tables_put_london_first_then_the_worst(q1: tuple[Plan, Overview]) -> None:
    plan, overview = q1
    figs = recorded(Q1)
    tables = {t.family: t for t in overview.tables}
    assert list(tables) == list(plan.params.families)
    trusts = tables["provider_shortfall"]
    assert trusts.total is not None and trusts.total.org_code == "Q36"
    shares = [
        value(figs, "provider_shortfall", r.org_code, "variance_pct_of_turnover")
        for r in trusts.rows
    ]
    assert shares == sorted(shares) and len(trusts.rows) == 26
    headers = [c.header for c in trusts.columns]
    assert headers[0] == "Variance as % of turnover"  # the label says its unit
    assert "Forecast variance to plan £m" in headers
    worst = trusts.rows[0]
    variance = value(figs, "provider_shortfall", worst.org_code, "variance_to_plan_gbp_m")
    assert formats.money_cell(variance) in [c.text for c in worst.cells]
    assert worst.status_text == "Up to date"
    assert [link.text for link in worst.links] == ["Report", "Notebook"]
    clusters = tables["cluster_milestone_slippage"]
    missed = [
        value(figs, "cluster_milestone_slippage", r.org_code, "milestones_missed_count")
        for r in clusters.rows
    ]
    assert missed == sorted(missed, reverse=True)
    pcts = tables["pct_support_needs"]
    assert [r.org_code for r in pcts.rows[:3]] == [i.org_code for i in overview.exceptions[1].items]
    needs = [c.text for c in pcts.rows[0].cells]
    assert "Yes" in needs


def test_report_status_in_words(project: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", periods=(Q1,))
    plan = plan_of(root, Q1)
    jobs = {(j.family, j.org_code): j for j in plan.jobs}
    pretend_ran(jobs["pct_support_needs", "5C9"])
    pretend_ran(jobs["pct_support_needs", "5NC"], good=False)
    failed = jobs["pct_support_needs", "5A9"]
    pretend_ran(failed, good=False)
    failed.failed.write_text("{}", encoding="utf-8")
    table = next(
        t for t in build_overview(plan, recorded(Q1)).tables if t.family == "pct_support_needs"
    )
    status = {r.org_code: r.status_text for r in table.rows}
    assert status["5C9"] == "Up to date"
    assert status["5NC"] == "Not up to date (an earlier report is shown)"
    assert status["5A9"] == "Failed in the last run (an earlier report is shown)"
    assert status["5K7"] == "Not up to date (not run yet)"
    row = next(r for r in table.rows if r.org_code == "5A9")
    assert [link.text for link in row.links] == ["Report", "Notebook", "Failed notebook"]


# --- the pages ------------------------------------------------------------------------------


def test_the_overview_page_is_one_offline_file_that_reads_without_script(
    q1: tuple[Plan, Overview],
) -> None:
    _, overview = q1
    page = period_page(overview)
    assert page == period_page(overview), "byte-stable"
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert "http://" not in page and "https://" not in page and "<script src" not in page
    assert page.count("<script>") == 1
    text = _Text(re.sub(r"<script>.*?</script>|<style>.*?</style>", "", page, flags=re.S)).text
    for tile in overview.tiles:
        assert tile.label in text and tile.sentence in text
    assert "Haringey Teaching PCT (5C9): a deficit of £8.2m before support" in text
    assert 'th scope="col"' in page and 'th scope="row"' in page and "<caption id=" in page
    body = overview_body(overview)
    assert "<html" not in body and "<script" not in body and "<h1" not in body
    assert body in page


def test_the_all_periods_page_puts_londons_figures_side_by_side(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    for period in (Q1, M10):  # written out of time order
        (outputs / period).mkdir(parents=True)
        (outputs / period / "index.html").write_text("x", encoding="utf-8")
        recorded(period).to_csv(outputs / period / "figures.csv", index=False)
    (outputs / "not-a-period").mkdir()
    history = build_history(outputs)
    assert [p.text for p in history.periods] == [M10, Q1]
    rows = {r.label: [c.text for c in r.cells] for r in history.rows}
    assert rows["Forecast outturn, London (£m)"] == [
        formats.money_cell(
            value(recorded(p), "regional_outturn", "Q36", "region_forecast_outturn_gbp_m")
        )
        for p in (M10, Q1)
    ]
    assert rows["QIPP milestones missed"] == ["—", "22"]  # not tracked in 2010-11
    assert write_outputs_index(outputs) is True
    page = (outputs / "index.html").read_text(encoding="utf-8")
    assert page.index(f'href="{M10}/index.html"') < page.index(f'href="{Q1}/index.html"')
    assert "not recorded" in page and "<caption" in page
    assert write_outputs_index(outputs) is False, "unchanged: not rewritten"


# --- the templates ship with the package and count as code ----------------------------------


def test_templates_are_package_data_and_count_in_the_code_hash(tmp_path: Path) -> None:
    import fnmatch
    import shutil
    import tomllib

    import helpers
    from helpers.pipeline.plan import code_hash

    package = Path(helpers.__file__).parent
    data = tomllib.loads((package.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["helpers"]
    templates = sorted((package / "pipeline" / "templates").iterdir())
    assert {t.name for t in templates} >= {"overview_body.html.j2", "pages.css", "overview.js"}
    for path in templates:
        rel = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(rel, g) for g in globs), f"{rel} is not package data"
    copy = tmp_path / "helpers"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_hash(copy)
    css = copy / "pipeline" / "templates" / "pages.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert code_hash(copy) != before, "a changed template is a changed page: rewrite it"
