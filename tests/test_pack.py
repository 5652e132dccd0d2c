"""The board pack (outputs/<period>/board-pack.pdf): what goes in, how it is built and kept.

The fast tests write executed reports without a kernel: notebooks whose outputs come from the
kit's own display code (a board table with its Styler HTML and its data, a chart PNG with its
text form, the recorded figures), stamped up to date, in a small project copy. The slow
tests read the pack of the full sample run (``sample_run``) with pypdf and pypdfium2.
"""

from __future__ import annotations

import base64
import gc
import io
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from kit_project import make_project
from PIL import Image
from pypdf import PdfReader

from helpers import formats
from helpers.errors import PackError
from helpers.figures import figures_bundle
from helpers.paths import ProjectPaths
from helpers.pipeline import pack, runner
from helpers.pipeline.pack_columns import PADDING_PT, PAGE_WIDTH_PT, column_widths, text_width
from helpers.pipeline.pack_html import pack_links, pack_outline
from helpers.pipeline.pack_reports import (
    board_table_html,
    printed_cells,
    report_body,
    shift_headings,
)
from helpers.pipeline.params import load_params
from helpers.pipeline.plan import Job, Plan, build_plan
from helpers.report.display import board_table, table_bundle
from helpers.report.registry import FAMILIES

PERIOD = "2011-12-Q1"
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / ".test-artifacts" / "board-pack"
SMALL_PARAMS = f"""\
period: {PERIOD}
families:
  regional_outturn:
    orgs: [Q36, NCL]
  provider_shortfall:
    orgs: [Q36, RF4, RJ7]
  pct_support_needs:
    orgs: [Q36, 5C9]
board_pack:
  appendix: {{appendix}}
"""


# --- executed reports without a kernel ------------------------------------------------------


def chart_png() -> str:
    """A 1200 x 675 RGB PNG (as the kit's charts are: 8 x 4.5 inches at 150 dpi), base64."""
    image = Image.new("RGB", (1200, 675), (255, 255, 255))
    for x in range(150, 1050, 225):
        image.paste((0, 94, 184), (x, 225, x + 110, 640))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def display(bundle: dict[str, Any], metadata: dict[str, Any] | None = None) -> Any:
    return nbformat.v4.new_output("display_data", data=bundle, metadata=metadata or {})  # type: ignore[no-untyped-call]


def executed_report(job: Job, variance: float) -> Any:
    """A notebook like an executed report of ``job``: title, summary, chart, table, figures."""
    family = FAMILIES[job.family]
    frame = pd.DataFrame(
        {"name": ["NHS trusts", "<b>PCTs</b>"], "v": [variance, 0.04999], "p": [16.9915, None]}
    )
    table = board_table(
        frame,
        {"name": ("Group", "text"), "v": ("Variance £m", "money"), "p": ("Shortfall %", "pct")},
        f"Variance of {job.org_code}, £m",
    )
    names = family.figure_names[:3]
    figs = {n: variance if n.endswith("_gbp_m") else 3 for n in names}
    who = "NHS London" if job.org_code == "Q36" else f"{job.org_name} ({job.org_code})"
    title = f"# {family.title}: {who}\n\n**Quarter 1 2011-12**"  # as Report.title_markdown
    code = nbformat.v4.new_code_cell  # type: ignore[attr-defined]
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [
        code("show_markdown(title)", outputs=[display({"text/markdown": title})]),
        nbformat.v4.new_markdown_cell("## Summary"),  # type: ignore[no-untyped-call]
        code(
            "show_markdown(summary)",
            outputs=[
                display(
                    {
                        "text/markdown": f"{job.org_code} forecasts "
                        f"{formats.outturn_phrase(variance)}."
                    }
                )
            ],
        ),
        code(
            "charts.show(fig)",
            outputs=[
                display(
                    {"image/png": chart_png(), "text/plain": f"[chart: Bars of {job.org_code}]"},
                    {"image/png": {"width": 800, "height": 450}},
                )
            ],
        ),
        code("show_table(t)", outputs=[display(table_bundle(table))]),
        code(
            "report.record_figures()",
            outputs=[
                display(
                    figures_bundle(figs, period=PERIOD, notebook=job.family, org_code=job.org_code)
                )
            ],
        ),
    ]
    return nb


def pretend_ran(job: Job, variance: float = -106.84) -> None:
    """Write a job's executed notebook, its HTML and the stamp that makes it up to date."""
    job.output_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(executed_report(job, variance), job.ipynb)  # type: ignore[no-untyped-call]
    job.html.write_text("<!DOCTYPE html>", encoding="utf-8")
    job.stamp.parent.mkdir(parents=True, exist_ok=True)
    job.stamp.write_text(json.dumps({"fingerprint": job.fingerprint}), encoding="utf-8")


def small_project(root: Path, appendix: str = "all") -> tuple[Plan, ProjectPaths]:
    """A project copy with seven reports of three families, every one up to date."""
    root = make_project(root, periods=(PERIOD,))
    params = root / "params" / f"{PERIOD}.yaml"
    params.write_text(SMALL_PARAMS.format(appendix=appendix), encoding="utf-8")
    dirs = ProjectPaths.under(root)
    plan = build_plan(load_params(params, dirs), dirs)
    for job in plan.jobs:
        pretend_ran(job)
    return plan, dirs


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, ProjectPaths, pack.PackOutcome]:
    """The small project's pack, built once (read-only: tests that change it make their own)."""
    plan, dirs = small_project(tmp_path_factory.mktemp("pack"))
    return plan, dirs, pack.build_pack(plan, dirs)


def outline_titles(reader: PdfReader) -> list[tuple[int, str]]:
    """(depth, title) of every bookmark, in order."""
    out: list[tuple[int, str]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((depth, str(item.title)))

    walk(reader.outline, 0)
    return out


def words(text: str) -> str:
    """Text with every run of white space as one space (PDF text breaks lines)."""
    return " ".join(text.split())


# --- what a report's print body holds -------------------------------------------------------


def test_a_report_body_has_its_headings_shifted_charts_with_alt_text_and_board_tables(
    built: tuple[Plan, ProjectPaths, pack.PackOutcome],
) -> None:
    plan, _, _ = built
    job = next(j for j in plan.jobs if j.org_code == "RF4")
    body = report_body(nbformat.read(job.ipynb, as_version=4), shift=2)  # type: ignore[no-untyped-call]
    assert body.startswith('<h3 class="report-title">Provider savings and variance to plan: ')
    assert "<h4>Summary</h4>" in body and "<h1" not in body and "<h2" not in body
    assert 'alt="[chart: Bars of RF4]"' in body
    assert "<caption>Variance of RF4, £m</caption>" in body
    assert re.search(r'<table class="board" style="width: [\d.]+%">', body)  # laid out fixed
    assert body.count('<col style="width: ') == 3 + 3  # the table's and the figures' columns
    assert '<th class="money" scope="col">Variance £m</th>' in body
    assert '<th scope="row">&lt;b&gt;PCTs&lt;/b&gt;</th>' in body  # data is text, escaped
    assert '<td class="money">(106.8)</td>' in body and '<td class="pct">17.0</td>' in body
    assert "<style" not in body and "def " not in body and "show_table" not in body
    label = FAMILIES["provider_shortfall"].dictionary[0].label
    assert f'<th scope="row">{label}</th>' in body  # the recorded figures, by their labels


def test_a_table_prints_the_cells_its_html_prints_not_its_rounded_data() -> None:
    frame = pd.DataFrame({"x": [0.04999]})  # recorded as 0.05 (4 decimals), printed 0.0
    table = board_table(frame, {"x": ("£m", "money")}, "Edge")
    bundle = table_bundle(table)
    assert printed_cells(bundle["text/html"]) == [["0.0"]]
    assert '<td class="money">0.0</td>' in board_table_html(
        bundle["application/vnd.nhs-kit.table+json"], bundle["text/html"]
    )


def percents(css: str) -> float:
    assert css.endswith("%")
    return float(css[:-1])


def test_a_narrow_table_takes_its_columns_widest_texts_and_no_more_of_the_page() -> None:
    widths = column_widths(["Driver", "London £m"], ["text", "money"], [["CIP slippage", "(74.1)"]])
    table = percents(widths.table) / 100 * PAGE_WIDTH_PT
    driver, london = (percents(w) / 100 * table for w in widths.columns)
    assert driver == pytest.approx(text_width("CIP slippage") + PADDING_PT, abs=0.3)
    assert london == pytest.approx(text_width("London £m", bold=True) + PADDING_PT, abs=0.3)
    assert text_width("(74.1)") < text_width("1,234.5") < text_width("Variance", bold=True)
    caption = "Drivers of the variance to plan, £m"  # on one line: the table widens for it
    wider = column_widths(["Driver", "London £m"], ["text", "money"], [["CIP", "(7.1)"]], caption)
    assert percents(wider.table) / 100 * PAGE_WIDTH_PT >= text_width(caption, bold=True) * 8 / 7.5


def test_a_wide_table_fills_the_page_numbers_fit_and_names_widen_before_headers() -> None:
    name = "Barking Havering and Redbridge University Hospitals NHS Trust"
    headers = ["Code", "NHS trust"] + [f"Forecast variance {i} £m" for i in range(9)]
    rows = [["RF4", name] + ["(1,234.5)"] * 9]
    widths = column_widths(headers, ["text", "text"] + ["money"] * 9, rows)
    assert widths.table == "100.00%"
    columns = [percents(w) / 100 * PAGE_WIDTH_PT for w in widths.columns]
    assert sum(columns) == pytest.approx(PAGE_WIDTH_PT, abs=0.5)  # 0.01% rounding
    number = max(text_width("(1,234.5)"), text_width("Forecast", bold=True)) + PADDING_PT
    assert all(c == pytest.approx(number, abs=0.3) for c in columns[2:])  # headers wrap
    assert columns[1] > text_width("University", bold=True) + PADDING_PT  # the name widened


def test_a_table_too_wide_for_the_page_is_shared_out_as_its_narrowest_columns() -> None:
    widths = column_widths(["a"] * 30, ["money"] * 30, [["(123,456.7)"] * 30])
    assert widths.table == "100.00%" and len(set(widths.columns)) == 1


def test_a_table_whose_html_and_data_disagree_is_a_pack_error() -> None:
    table = board_table(pd.DataFrame({"x": [1.0, 2.0]}), {"x": ("£m", "money")}, "Two rows")
    bundle = table_bundle(table)
    one_row = re.sub(r"<tr>\s*<td[^<]*>2\.0</td>\s*</tr>", "", bundle["text/html"])
    with pytest.raises(PackError, match="'Two rows' prints 1 rows where its data has 2"):
        board_table_html(bundle["application/vnd.nhs-kit.table+json"], one_row)


def test_headings_move_down_but_never_below_h6() -> None:
    assert shift_headings("<h1>a</h1><h5 id='x'>b</h5>", 2) == "<h3>a</h3><h6 id='x'>b</h6>"


def test_overview_links_to_reports_in_the_pack_stay_links_and_others_become_text() -> None:
    body = (
        '<a href="provider_shortfall/RF4.html">Barking</a> '
        '<a href="provider_shortfall/RF4.ipynb">Notebook</a> '
        '<a href="../index.html">All periods<span class="visually-hidden"> x</span></a>'
    )
    out = pack_links(body, {"report-provider_shortfall-RF4"})
    assert out == (
        '<a href="#report-provider_shortfall-RF4">Barking</a> Notebook '
        'All periods<span class="visually-hidden"> x</span>'
    )


# --- which reports go where -----------------------------------------------------------------


def test_the_outline_puts_london_clusters_and_the_appendix_in_order(
    built: tuple[Plan, ProjectPaths, pack.PackOutcome],
) -> None:
    plan, _, _ = built
    outline = pack_outline(plan)
    assert [p.title for p in outline.parts] == [
        "London's reports",
        "Cluster reports",
        "Appendix: organisation reports",
    ]
    london, clusters, appendix = outline.parts
    assert [r.job.name for r in london.reports] == [
        f"{PERIOD}/regional_outturn/Q36",
        f"{PERIOD}/provider_shortfall/Q36",
        f"{PERIOD}/pct_support_needs/Q36",
    ]
    assert [g.title for g in clusters.groups] == ["North Central London (NCL)"]
    assert [(g.title, [r.job.org_code for r in g.reports]) for g in appendix.groups] == [
        ("Provider savings and variance to plan: organisation reports", ["RF4", "RJ7"]),
        ("PCT break-even and support needs: organisation reports", ["5C9"]),
    ]
    assert outline.missing == ()


def test_the_appendix_option_and_a_report_not_up_to_date_change_the_outline(
    tmp_path: Path,
) -> None:
    plan, _ = small_project(tmp_path, appendix="[RJ7]")

    stale = next(j for j in plan.jobs if j.family == "pct_support_needs" and j.org_code == "Q36")
    stale.stamp.unlink()
    outline = pack_outline(plan)
    assert [r.job.org_code for r in outline.parts[-1].reports] == ["RJ7"]
    assert [r.job.name for r in outline.parts[0].reports] == [
        f"{PERIOD}/regional_outturn/Q36",
        f"{PERIOD}/provider_shortfall/Q36",
    ]
    assert (
        len(outline.missing) == 1
        and "PCT break-even and support needs: NHS London" in (outline.missing[0])
    )


# --- the PDF of the small project -----------------------------------------------------------


def test_the_pack_is_a_tagged_pdf_with_title_language_and_a_bookmark_per_section(
    built: tuple[Plan, ProjectPaths, pack.PackOutcome],
) -> None:
    plan, _, outcome = built
    assert outcome.status == "built" and outcome.path == plan.output_dir / "board-pack.pdf"
    assert gc.isenabled()  # the garbage collector, paused while WeasyPrint worked
    reader = PdfReader(outcome.path)
    assert len(reader.pages) == outcome.pages >= 9  # cover, contents, overview, 7 reports
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert root["/Lang"] == "en-GB"
    assert reader.metadata is not None
    assert reader.metadata.title == f"NHS London board pack: finance and savings, {PERIOD}"
    assert reader.metadata["/CreationDate"] == "D:20110630"  # the period's end, not the clock
    assert 'pdfuaid:part="1"' in root["/Metadata"].get_object().get_data().decode()
    titles = outline_titles(reader)
    assert titles[:3] == [(0, "Cover"), (0, "Contents"), (0, "Overview")]
    assert (0, "London's reports") in titles and (0, "Cluster reports") in titles
    assert (1, "North Central London (NCL)") in titles
    assert (2, "Forecast outturn against plan: North Central London (NCL)") in titles
    assert (1, "Provider savings and variance to plan: NHS London") in titles
    assert (0, "Appendix: organisation reports") in titles
    assert (0, "Definitions of the headline figures") in titles


def test_the_contents_give_each_section_its_page(
    built: tuple[Plan, ProjectPaths, pack.PackOutcome],
) -> None:
    _, _, outcome = built
    reader = PdfReader(outcome.path)

    def page_of(title: str) -> int:
        for item in reader.outline:
            if not isinstance(item, list) and item.title == title:
                return reader.get_destination_page_number(item) + 1
        raise AssertionError(title)

    contents = words(reader.pages[1].extract_text())
    for title in ("Overview", "London's reports", "Cluster reports"):
        assert re.search(rf"{re.escape(title)} ?[. ]+ ?{page_of(title)}\b", contents), title


def test_the_same_reports_give_the_same_bytes_and_the_pack_is_kept_until_they_change(
    tmp_path: Path,
) -> None:
    plan, dirs = small_project(tmp_path, appendix="none")
    first = pack.build_pack(plan, dirs)
    data = first.path.read_bytes()
    assert pack.build_pack(plan, dirs).status == "up to date"
    assert pack.build_pack(plan, dirs, force=True).status == "built"
    assert first.path.read_bytes() == data  # byte-stable
    first.path.write_bytes(data[:-10])  # an altered PDF is rebuilt
    assert pack.build_pack(plan, dirs).status == "built"
    assert first.path.read_bytes() == data
    job = next(j for j in plan.jobs if j.org_code == "NCL")
    pretend_ran(job, variance=-5.0)  # the same fingerprint: a forced rerun, the same pack kept
    assert pack.build_pack(plan, dirs).status == "up to date"
    job.stamp.unlink()  # a report no longer up to date: the pack says so
    assert pack.build_pack(plan, dirs).status == "built"
    text = words(" ".join(p.extract_text() for p in PdfReader(first.path).pages[:1]))
    assert "Not in this pack (1), as not up to date in this run" in text
    assert not list(plan.output_dir.glob(".board-pack.pdf.tmp-*"))


def test_a_chart_weasyprint_cannot_load_fails_the_pack_rather_than_leaving_it_out(
    tmp_path: Path,
) -> None:
    plan, dirs = small_project(tmp_path, appendix="none")
    job = next(j for j in plan.jobs if j.org_code == "NCL")
    nb = nbformat.read(job.ipynb, as_version=4)  # type: ignore[no-untyped-call]
    nb.cells[3].outputs[0].data["image/png"] = base64.b64encode(b"not a png").decode()
    nbformat.write(nb, job.ipynb)  # type: ignore[no-untyped-call]
    with pytest.raises(PackError, match=r"^WeasyPrint: Failed to load image at 'data:image/png"):
        pack.build_pack(plan, dirs)
    assert gc.isenabled()  # paused while WeasyPrint rendered, back on after its failure
    assert not (plan.output_dir / "board-pack.pdf").exists()


def test_stale_packs_of_several_periods_are_built_at_once_and_one_failure_stays_alone(
    tmp_path: Path,
) -> None:
    plan, dirs = small_project(tmp_path, appendix="none")  # four reports: a quicker good pack
    m10 = "2010-11-M10"
    params = dirs.params / f"{m10}.yaml"
    params.write_text(
        f"period: {m10}\nfamilies:\n  provider_shortfall:\n    orgs: [Q36, RF4]\n", "utf-8"
    )
    earlier = build_plan(load_params(params, dirs), dirs)
    for job in earlier.jobs:
        pretend_ran(job)
    nb = nbformat.read(earlier.jobs[1].ipynb, as_version=4)  # type: ignore[no-untyped-call]
    nb.cells[4].outputs[0].data["text/html"] = "<table></table>"  # no rows where data has two
    nbformat.write(nb, earlier.jobs[1].ipynb)  # type: ignore[no-untyped-call]
    failed, good = pack.build_packs([(earlier, ()), (plan, ())], dirs, workers=2)
    assert isinstance(failed, PackError) and "prints 0 rows where its data has 2" in str(failed)
    assert isinstance(good, pack.PackOutcome) and good.status == "built"
    assert PdfReader(good.path).pages and not (earlier.output_dir / "board-pack.pdf").exists()
    again = pack.build_packs([(earlier, ()), (plan, ())], dirs, workers=2)
    assert isinstance(again[0], PackError)
    assert again[1] == pack.PackOutcome(good.path, "up to date")


def test_a_pack_that_cannot_be_built_is_reported_and_leaves_the_reports_alone(
    tmp_path: Path,
) -> None:
    plan, dirs = small_project(tmp_path)
    assert pack.build_pack(plan, dirs).status == "built"  # an older pack, soon out of date
    job = next(j for j in plan.jobs if j.org_code == "RF4")
    pretend_ran(job)
    nb = nbformat.read(job.ipynb, as_version=4)  # type: ignore[no-untyped-call]
    table = nb.cells[4].outputs[0].data
    table["text/html"] = table["text/html"].replace("<tbody>", "<tbody><tr><td>x</td></tr>")
    nbformat.write(nb, job.ipynb)  # type: ignore[no-untyped-call]
    (plan.output_dir / ".state" / "board-pack.json").write_text("{}")  # as if RF4 had changed
    before = {j.name: j.ipynb.read_bytes() for j in plan.jobs}

    class Notes:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def note(self, period: str, text: str) -> None:
            self.lines.append(text)

    seen: list[str] = []
    observer = runner.QuietObserver()
    observer.notice = seen.append  # type: ignore[method-assign]
    result = runner.RunResult()
    notes = Notes()
    runner._finish([plan], dirs, result, "", notes, observer, workers=1)  # type: ignore[arg-type]
    shown = f"outputs/{PERIOD}/board-pack.pdf could not be built, the reports are unaffected: "
    assert result.exit_code == 1 and len(result.not_built) == 1
    assert result.not_built[0].startswith(shown + "the table ")
    assert f"{PERIOD}: {result.not_built[0]}" in seen
    assert f"NOT BUILT {result.not_built[0]}" in notes.lines
    assert not (plan.output_dir / "board-pack.pdf").exists()  # the older pack is gone
    assert not list(plan.output_dir.glob(".board-pack.pdf.tmp-*"))
    assert {j.name: j.ipynb.read_bytes() for j in plan.jobs} == before
    assert (plan.output_dir / "index.html").is_file()  # the pages were written all the same


# --- the sample run's packs -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_packs(sample_run: Path) -> dict[str, PdfReader]:
    """Each sample period's pack, one reader shared by the tests (read-only).

    pypdf takes seconds to read the page tree and outline of a 300-page pack, and keeps them.
    """
    periods = ("2010-11-M10", PERIOD)
    return {p: PdfReader(sample_run / "outputs" / p / "board-pack.pdf") for p in periods}


@pytest.mark.slow
@pytest.mark.parametrize("period", ["2010-11-M10", PERIOD])
def test_the_sample_packs_hold_every_report_with_a_bookmark_each(
    sample_run: Path, sample_packs: dict[str, PdfReader], period: str
) -> None:
    dirs = ProjectPaths.under(sample_run)
    plan = build_plan(load_params(dirs.params / f"{period}.yaml", dirs), dirs)
    reader = sample_packs[period]
    stamp = json.loads((plan.output_dir / ".state" / "board-pack.json").read_text())
    assert len(reader.pages) == stamp["pages"] > 150
    titles = {t for _, t in outline_titles(reader)}
    london = [j for j in plan.jobs if j.org_code == "Q36"]
    assert {f"{FAMILIES[j.family].title}: NHS London" for j in london} <= titles
    appendix = [j for j in plan.jobs if j.org_code in plan.params.appendix]
    assert len(appendix) == len(plan.jobs) - len(london) - (12 if period == PERIOD else 0)
    for job in appendix:
        assert f"{FAMILIES[job.family].title}: {job.org_name} ({job.org_code})" in titles
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/Lang"] == "en-GB"
    assert reader.metadata is not None and period in str(reader.metadata.title)


def london_summary(html: str) -> str:
    """The summary paragraph of a London report as its HTML prints it (tags dropped)."""
    found = re.search(r'id="Summary".*?<p>(.*?)</p>', html, re.S)
    assert found
    return words(re.sub(r"<[^>]+>", "", found[1]).replace("&#39;", "'").replace("&amp;", "&"))


@pytest.mark.slow
def test_london_headline_figures_read_in_the_pack_as_the_html_prints_them(
    sample_run: Path, sample_packs: dict[str, PdfReader]
) -> None:
    outputs = sample_run / "outputs" / PERIOD
    reader = sample_packs[PERIOD]
    text = words(" ".join(page.extract_text() for page in reader.pages[:40]))
    for family in FAMILIES:
        summary = london_summary((outputs / family / "Q36.html").read_text(encoding="utf-8"))
        assert "£" in summary and summary in text, family
    figures = pd.read_csv(outputs / "figures.csv", dtype={"org_code": str})
    london = figures.loc[(figures["org_code"] == "Q36") & (figures["unit"] == "gbp_m")]
    for value in london["value"]:
        assert formats.money_cell(value) in text  # as the reports' tables print £m
    index = words(re.sub(r"<[^>]+>", " ", (outputs / "index.html").read_text(encoding="utf-8")))
    for tile in re.findall(r"Forecast a surplus of £[\d.]+m for 2011-12[^.]*\.", index):
        assert tile in text  # the overview's tiles, as the period page prints them


@pytest.mark.slow
def test_a_pack_page_renders_with_ink_and_its_charts_print_at_150_dpi_or_more(
    sample_run: Path, sample_packs: dict[str, PdfReader]
) -> None:
    import pypdfium2 as pdfium

    path = sample_run / "outputs" / PERIOD / "board-pack.pdf"
    reader = sample_packs[PERIOD]
    first = next(
        i for i in reader.outline if not isinstance(i, list) and i.title == "London's reports"
    )
    number = reader.get_destination_page_number(first)
    document = pdfium.PdfDocument(path)
    page = document[number]
    image = page.render(scale=150 / 72).to_pil().convert("RGB")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image.save(ARTIFACTS / f"{PERIOD}-page-{number + 1}.png")
    width, height = image.size
    assert abs(width - 595.28 * 150 / 72) <= 1 and abs(height - 841.89 * 150 / 72) <= 1  # A4
    ink = sum(image.convert("L").histogram()[:200]) / (width * height)  # darker than light grey
    assert 0.03 < ink < 0.6, ink  # text, tables and a chart, not a blank or black page
    assert (0, 94, 184) in {c for _, c in image.getcolors(1 << 20) or []}  # NHS blue headers
    dpis = []
    for index in range(number, number + 3):
        for obj in document[index].get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE]):
            left, _, right, _ = obj.get_bounds()
            pixels_wide, _ = obj.get_px_size()
            dpis.append(pixels_wide / ((right - left) / 72))
    assert dpis and min(dpis) >= 150, dpis
