"""open_report's parameter checks (one clear sentence each), tables, notes and figures."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.display import Markdown

from helpers import metrics
from helpers.data.periods import Period
from helpers.errors import KitError, NoDataError, ParameterError
from helpers.paths import PROCESSED_DIR, PROJ_ROOT, RAW_DIR
from helpers.report import Report, base, display, open_report, opening
from helpers.report import cluster_milestone_slippage as clusters
from helpers.report import pct_support_needs as pcts
from helpers.report import provider_shortfall as providers
from helpers.report import regional_outturn as regional


def _error(family: str, period: object, org: object, **options: object) -> KitError:
    with pytest.raises(KitError) as info:
        open_report(family, period, org, **options)
    err = info.value
    text = str(err)
    assert "\n" not in text and text.endswith(".") and text[0].isupper(), text
    assert err.__cause__ is None and err.__suppress_context__, "traceback must be short"
    return err


@pytest.mark.parametrize(
    ("family", "period", "org", "expected"),
    [
        (
            "pct_support_needs",
            "2010-11-M10",
            "ZZZ",
            "Organisation code 'ZZZ' is not in the reference data "
            "(data/reference/organisations.csv).",
        ),
        (
            "pct_support_needs",
            "2010-11-M10",
            "RF4",
            "Barking Havering and Redbridge University Hospitals NHS Trust (RF4) is an NHS "
            "trust, but the pct_support_needs report (PCT break-even and support needs) runs "
            "for NHS London (Q36) or a PCT or care trust.",
        ),
        (
            "provider_shortfall",
            "2011-12-Q1",
            "5NC",
            "Waltham Forest PCT (5NC) is a PCT, but the provider_shortfall report (Provider "
            "savings and variance to plan) runs for NHS London (Q36) or an NHS trust.",
        ),
        (
            "regional_outturn",
            "2011-12-Q1",
            "RF4",
            "Barking Havering and Redbridge University Hospitals NHS Trust (RF4) is an NHS "
            "trust, but the regional_outturn report (Forecast outturn against plan) runs for "
            "NHS London (Q36) or a PCT cluster.",
        ),
        (
            "cluster_milestone_slippage",
            "2010-11-M10",
            "NCL",
            "North Central London (NCL) was not a valid organisation in 2010-11-M10: it "
            "existed from 1 April 2011 to 31 March 2013.",
        ),
        (
            "provider_shortfall",
            "2010-11-M10",
            "RY9",
            "Hounslow and Richmond Community Healthcare NHS Trust (RY9) was not a valid "
            "organisation in 2010-11-M10: it existed from 1 April 2011.",
        ),
    ],
    ids=["unknown", "trust-for-pct", "pct-for-provider", "trust-for-region", "cluster-2010", "ry9"],
)
def test_organisation_problems_are_one_sentence(
    family: str, period: str, org: str, expected: str
) -> None:
    err = _error(family, period, org)
    assert isinstance(err, ParameterError)
    assert str(err) == expected


@pytest.mark.parametrize("period", ["2011-12-Q5", "2011/12-Q1", "2011-13-M01", "M10", ""])
def test_malformed_period(period: str) -> None:
    err = _error("regional_outturn", period, "Q36")
    assert isinstance(err, ParameterError)
    assert str(err) == (
        f"The period {period!r} is not a reporting period: write it as YYYY-YY-MNN (a month, "
        "M01 = April) or YYYY-YY-QN (a quarter), e.g. 2011-12-Q1."
    )


def test_period_without_returns() -> None:
    err = _error("regional_outturn", "2011-12-Q2", "Q36")
    assert isinstance(err, NoDataError)
    assert str(err) == (
        "There are no returns for 2011-12-Q2: put them in data/raw/2011-12-Q2/ "
        "(see docs/data-dictionary.md)."
    )


def test_other_bad_parameters() -> None:
    assert str(_error("regional_outturns", "2011-12-Q1", "Q36")).startswith(
        "There is no report family 'regional_outturns': choose regional_outturn, "
    )
    assert str(_error("pct_support_needs", "2011-12-Q1", "Q36", threshold_pct=1.0)) == (
        "The pct_support_needs report has no option threshold_pct; its options are returns_dir."
    )
    for bad in ("lots", -1, 250, True, None):
        assert str(_error("provider_shortfall", "2011-12-Q1", "Q36", threshold_pct=bad)) == (
            "The threshold_pct parameter must be a percentage of turnover between 0 and 100 "
            f"(e.g. 1.0), not {bad!r}."
        )
    assert "org_code parameter" in str(_error("provider_shortfall", "2011-12-Q1", 36))
    assert str(_error("regional_outturn", "2011-12-Q1", "Q36", returns_dir="/nowhere")) == (
        "There are no returns for 2011-12-Q1 in /nowhere."
    )


def test_error_is_shown_as_markdown_in_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(opening, "_in_ipython", lambda: True)
    monkeypatch.setattr(opening, "show_markdown", shown.append)
    err = _error("pct_support_needs", "2010-11-M10", "ZZZ")
    assert shown == [f"**This report cannot be produced.** {err}"]


def test_open_report_normalises_and_describes_the_report() -> None:
    report = open_report("provider_shortfall", Period.parse("2010-11-M10"), " rf4 ")
    assert isinstance(report, Report)
    assert (report.family, str(report.period), report.org_code) == (
        "provider_shortfall",
        "2010-11-M10",
        "RF4",
    )
    assert report.org_name == "Barking Havering and Redbridge University Hospitals NHS Trust"
    assert report.org_type == "nhs_trust" and not report.is_region and report.cluster is None
    assert report.threshold_pct == 1.0
    assert report.title_markdown() == (
        "# Provider savings and variance to plan: Barking Havering and Redbridge University "
        "Hospitals NHS Trust (RF4)\n\n**Month 10 2010-11 (January 2011)** · returns to M10 of "
        "2010-11 · report `provider_shortfall` for `RF4`"
    )
    cluster = open_report("regional_outturn", "2011-12-Q1", "NCL", threshold_pct="2")
    assert cluster.cluster == "NCL" and cluster.threshold_pct == 2.0
    assert cluster.members == ["5A9", "5C1", "5C9", "5K7", "5K8"]


def test_returns_location(tmp_path: Path) -> None:
    period = Period.parse("2011-12-Q1")
    assert opening.returns_location("", period) == (RAW_DIR, PROCESSED_DIR)
    assert opening.returns_location("data/raw", period) == (RAW_DIR, PROCESSED_DIR)
    assert opening.returns_location(RAW_DIR / "2011-12-Q1", period)[0] == RAW_DIR
    (tmp_path / "2011-12-Q1").mkdir()
    raw, processed = opening.returns_location(tmp_path / "2011-12-Q1", period)
    assert raw == tmp_path
    assert processed.parent == PROCESSED_DIR / "elsewhere"
    assert opening.returns_location(str(tmp_path), period) == (raw, processed)
    assert PROJ_ROOT in opening.returns_location("data/raw", period)[0].parents


def test_returns_from_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("helpers.report.opening.PROCESSED_DIR", tmp_path / "processed")
    shutil.copytree(RAW_DIR / "2011-12-Q1", tmp_path / "returns" / "2011-12-Q1")
    report = open_report(
        "cluster_milestone_slippage", "2011-12-Q1", "Q36", returns_dir=str(tmp_path / "returns")
    )
    assert report.figures()["milestones_due_count"] == 129
    assert (tmp_path / "processed" / "elsewhere").is_dir()
    assert "`returns`" in report.notes_markdown()


def test_sources_note_names_the_published_sources() -> None:
    m10 = base.sources_note("2010-11-M10")
    assert "The 28 published figures for 2010-11-M10" in m10
    assert "NHS London board papers, March 2011" in m10
    q1 = base.sources_note(Period.parse("2011-12-Q1"))
    assert "Sources: " in q1
    assert "NHS London delivery group QIPP report, July 2011" in q1
    assert "Update on 2011/12 Financial Position at M3" in q1
    assert "published no figures for 2011-12-Q2" in base.sources_note("2011-12-Q2")


def test_notes_carry_the_caveat_and_definitions() -> None:
    notes = open_report(
        "provider_shortfall", "2010-11-M10", "Q36", threshold_pct=1.5
    ).notes_markdown()
    assert notes.startswith("## Notes on data sources and caveats\n")
    assert "Organisation-level values in the sample returns are illustrative." in notes
    assert "adverse by more than 1.5% of turnover" in notes
    assert "NHS London board papers, March 2011" in notes


def test_board_table_and_its_bundle_are_deterministic() -> None:
    frame = pd.DataFrame(
        {"name": ["A & B", "C"], "gbp": [-12.94, 1234.5], "pct": [16.99, None], "ok": [True, False]}
    )
    table = display.board_table(
        frame,
        {
            "name": ("Who", "text"),
            "gbp": ("£m", "money"),
            "pct": ("%", "pct"),
            "ok": ("OK", "flag"),
        },
        "A caption",
    )
    assert table.frame.to_dict("list") == {
        "Who": ["A & B", "C"],
        "£m": ["(12.9)", "1,234.5"],
        "%": ["17.0", "—"],
        "OK": ["Yes", "No"],
    }
    first, second = display.table_bundle(table), display.table_bundle(table)
    assert first == second
    assert set(first) == {"text/plain", "text/html", display.TABLE_MIME}
    assert first[display.TABLE_MIME] == {  # numbers stay numbers, for the board workbook
        "caption": "A caption",
        "columns": [
            {"header": "Who", "kind": "text"},
            {"header": "£m", "kind": "money"},
            {"header": "%", "kind": "pct"},
            {"header": "OK", "kind": "flag"},
        ],
        "rows": [["A & B", -12.94, 16.99, True], ["C", 1234.5, None, False]],
        "empty_text": "Nothing to show.",
    }
    assert first["text/plain"].startswith("A caption\n")
    html = first["text/html"]
    assert "A &amp; B" in html and "<caption>A caption</caption>" in html
    assert 'id="T_a-caption-' in html
    assert '<th scope="col">Who</th><th scope="col" class="num">£m</th>' in html
    assert '<tr><th scope="row">A &amp; B</th><td class="num">(12.9)</td>' in html
    empty = display.table_bundle(
        display.board_table(frame.iloc[0:0], {"name": ("Who", "text")}, "x", "None.")
    )
    assert empty["text/plain"] == "None." and empty["text/markdown"] == "*None.*"
    assert empty[display.TABLE_MIME]["rows"] == []
    with pytest.raises(ValueError, match="unknown column kind"):
        display.board_table(frame, {"name": ("Who", "words")}, "x")


def test_show_markdown_and_table_display_text(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append((obj, kw)))
    display.show_markdown("**Hello**")
    display.show_markdown("  ")
    table = display.board_table(pd.DataFrame({"a": [1.0]}), {"a": ("A £m", "money")}, "Cap")
    display.show_table(table)
    assert len(shown) == 2
    text = shown[0][0]
    assert isinstance(text, Markdown)
    assert repr(text) == "**Hello**" and text._repr_markdown_() == "**Hello**"
    assert shown[1][0]["text/plain"] == "Cap\nA £m\n 1.0"
    assert shown[1][1] == {"raw": True}


CASES = [
    ("regional_outturn", "2010-11-M10", "Q36"),
    ("regional_outturn", "2011-12-Q1", "SWL"),
    ("provider_shortfall", "2010-11-M10", "Q36"),
    ("provider_shortfall", "2011-12-Q1", "RNH"),
    ("pct_support_needs", "2010-11-M10", "5C9"),
    ("pct_support_needs", "2011-12-Q1", "Q36"),
    ("cluster_milestone_slippage", "2011-12-Q1", "Q36"),
    ("cluster_milestone_slippage", "2011-12-Q1", "SEL"),
    ("cluster_milestone_slippage", "2010-11-M10", "Q36"),
]
TABLES = {
    "regional_outturn": ["outturn_table", "savings_table", "trajectory_table", "bridge_table"],
    "provider_shortfall": [
        "trust_table",
        "behind_plan_table",
        "drivers_table",
        "cip_category_table",
    ],
    "pct_support_needs": ["break_even_table", "pct_table", "qipp_category_table"],
    "cluster_milestone_slippage": [
        "cluster_table",
        "member_qipp_table",
        "milestone_table",
        "category_milestone_table",
        "delays_table",
    ],
}


@pytest.mark.parametrize(("family", "period", "org"), CASES, ids=["-".join(c) for c in CASES])
def test_every_section_of_every_family_renders(family: str, period: str, org: str) -> None:
    report = open_report(family, period, org)
    assert report.summary_markdown()
    for name in TABLES[family]:
        module = importlib.import_module(f"helpers.report.{family}")  # the family's own module
        bundle = display.table_bundle(getattr(module, name)(report))
        assert bundle["text/plain"]
        assert "nan" not in bundle["text/plain"].lower().split()
    figs = report.figures()
    assert figs and all(isinstance(v, int | float) for v in figs.values())


def test_cluster_report_in_a_year_without_milestones() -> None:
    report = open_report("cluster_milestone_slippage", "2010-11-M10", "Q36")
    assert not report.data.has_milestones
    assert report.summary_markdown().startswith("There is no QIPP milestone tracking for 2010-11")
    figs = report.figures()
    assert not any(k.startswith(("milestones_", "clusters_")) for k in figs)
    assert figs["qipp_annual_plan_gbp_m"] == 455.5 and figs["qipp_forecast_gbp_m"] == 391.7
    assert clusters.milestone_table(report).frame.empty
    assert display.table_bundle(clusters.milestone_table(report))["text/plain"] == (
        "No QIPP milestones were tracked in 2010-11."
    )
    assert clusters.delays_markdown(report) == ""


def test_cluster_tables_add_london_totals() -> None:
    report = open_report("cluster_milestone_slippage", "2011-12-Q1", "ONEL")
    table = clusters.cluster_table(report).frame
    assert table["Cluster"].tolist() == ["NCL", "INEL", "ONEL", "NWL", "SEL", "SWL", "London"]
    assert table.iloc[-1]["YTD variance £m"] == "(2.6)"
    assert table.iloc[-1]["Target met to date"] == "—"
    milestones = clusters.milestone_table(report).frame
    assert milestones.iloc[-1].tolist() == ["London", "129", "107", "22", "100"]
    categories = clusters.category_milestone_table(report).frame
    assert categories["Missed"].astype(int).sum() == 6  # ONEL's own
    assert set(clusters.delays(report)["cluster_code"]) == {"ONEL"}


def test_bridge_and_movement_for_a_cluster() -> None:
    report = open_report("regional_outturn", "2011-12-Q1", "NCL")
    frame = regional.bridge(report)
    assert frame["step"].iloc[0] == "Plan" and frame["step"].iloc[-1] == "Forecast"
    assert frame["end_gbp_m"].iloc[-2] == pytest.approx(frame["amount_gbp_m"].iloc[-1])
    move = regional.movement(report)
    assert move["group"].tolist() == ["North Central London"]
    london = regional.movement(open_report("regional_outturn", "2010-11-M10", "Q36"))
    assert london.set_index("group").loc["London", "movement_gbp_m"] == pytest.approx(-23.9)


def test_record_figures_records_the_family_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[Any] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    report = open_report("pct_support_needs", "2011-12-Q1", "5NC")
    report.record_figures()
    (bundle,) = shown
    payload = bundle["application/vnd.nhs-kit.figures+json"]
    assert (payload["period"], payload["notebook"], payload["org_code"]) == (
        "2011-12-Q1",
        "pct_support_needs",
        "5NC",
    )
    got = {f["figure"]: f["value"] for f in payload["figures"]}
    assert got["qipp_forecast_pct_of_plan"] == pytest.approx(66.6667)


def test_an_organisations_ranking_tables_show_its_peers(monkeypatch: pytest.MonkeyPatch) -> None:
    trust = open_report("provider_shortfall", "2010-11-M10", "RF4")
    whole = providers.trust_table(trust)
    assert "ranked" not in whole.caption and len(whole.frame) == 25
    monkeypatch.setattr(metrics, "RANK_LIMIT", 5)
    peers = providers.trust_table(trust)
    codes = whole.frame["Code"].tolist()
    at = codes.index("RF4")
    assert peers.frame["Code"].tolist() == codes[max(at - 2, 0) :][:5]
    assert "of 25 NHS trusts; London's report lists them all)" in peers.caption
    london = open_report("provider_shortfall", "2010-11-M10", "Q36")
    assert len(providers.trust_table(london).frame) == 25  # London's report lists every trust
    pct = open_report("pct_support_needs", "2011-12-Q1", "5NC")
    assert len(pcts.pct_table(pct).frame) == 5
    needing = pcts.pct_table(pct, only_needing_support=True)
    assert "ranked" not in needing.caption  # the list of PCTs needing support is never cut


def test_a_derived_table_is_computed_once_and_handed_out_as_copies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trust's report ranks the trusts once, however many of its tables read the ranking;
    a caller that changes its copy changes nothing the next caller sees."""
    report = open_report("provider_shortfall", "2010-11-M10", "RF4")
    calls: list[float] = []
    real = metrics.trust_shortfall

    def counted(data: Any, threshold_pct: float) -> pd.DataFrame:
        calls.append(threshold_pct)
        return real(data, threshold_pct)

    counted.__qualname__ = real.__qualname__  # the cache key names the function
    monkeypatch.setattr(metrics, "trust_shortfall", counted)
    providers.trust_table(report)
    providers.behind_plan_table(report)
    providers.drivers_table(report)
    report.summary_markdown()
    assert calls == [report.threshold_pct]
    first = report.derived(counted, report.threshold_pct)
    first.loc[:, "variance_to_plan_gbp_m"] = 0.0
    again = report.derived(counted, report.threshold_pct)
    assert again["variance_to_plan_gbp_m"].abs().sum() > 0
    assert again.equals(real(report.data, report.threshold_pct))
    report.derived(counted, 2.0)  # another option is another table
    assert calls == [report.threshold_pct, 2.0]
