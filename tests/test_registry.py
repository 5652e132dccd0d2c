"""The family registry: one entry per notebook, and exactly the figures its reports record."""

from __future__ import annotations

import dataclasses
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from kit_project import make_project, run_kit

from helpers.errors import FigureError
from helpers.figures import unit_of
from helpers.paths import PROJ_ROOT
from helpers.pipeline.export import definitions_csv
from helpers.report import open_report
from helpers.report.registry import FAMILIES

PERIOD = "2011-12-Q1"

BACKTESTS = sorted((PROJ_ROOT / "tests" / "backtest").glob("*.figures.csv"))


@pytest.fixture(scope="module")
def recorded() -> pd.DataFrame:
    """Every figure the reports of both sample periods recorded (the back-test ground truth)."""
    return pd.concat([pd.read_csv(p, dtype=str) for p in BACKTESTS], ignore_index=True)


def test_every_family_is_registered_under_its_own_name() -> None:
    assert list(FAMILIES) == [
        "regional_outturn",
        "provider_shortfall",
        "pct_support_needs",
        "cluster_milestone_slippage",
    ]
    for name, family in FAMILIES.items():
        assert family.name == name and family.notebook == f"{name}.ipynb"
        assert "sha" in family.org_types  # every family has London's report
        assert len(set(family.figure_names)) == len(family.figure_names)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_registry_names_exactly_the_figures_its_reports_record(
    family: str, recorded: pd.DataFrame
) -> None:
    mine = set(recorded.loc[recorded["notebook"] == family, "figure"])
    declared = set(FAMILIES[family].figure_names)
    assert mine - declared == set(), "recorded but not in the registry"
    assert declared - mine == set(), "in the registry but never recorded"


# --- a fifth family: one module, one notebook, one registry line (slow) --------------------

FIFTH_MODULE = '''"""A tiny fifth family for the registry test: NHS trusts' turnover."""

from __future__ import annotations

from helpers import metrics
from helpers.report.base import Report
from helpers.report.display import Table, board_table
from helpers.report.family import Family, Figures, Parameter, figure


def _top_n(value: object) -> object:
    return int(value)  # type: ignore[call-overload]


TOP_N = Parameter("top_n", int, 5, "how many trusts the table lists", _top_n)


def turnover_table(report: Report) -> Table:
    """The largest trusts by turnover."""
    pos = metrics.position(report.data)
    trusts = pos.loc[pos["group"] == "NHS trusts"].sort_values("turnover_gbp_m", ascending=False)
    top = trusts.head(int(report.options["top_n"]))
    columns = {"org_code": ("Code", "text"), "turnover_gbp_m": ("Turnover £m", "money")}
    return board_table(top, columns, "The largest NHS trusts by turnover")


def figures(report: Report) -> Figures:
    pos = metrics.position(report.data)
    trusts = pos.loc[pos["group"] == "NHS trusts"]
    if not report.is_region:
        trusts = trusts.loc[trusts["org_code"] == report.org_code]
    return {"turnover_gbp_m": round(float(trusts["turnover_gbp_m"].sum()), 4)}


def summary(report: Report) -> str:
    return f"{report.area}'s NHS trusts: turnover £{report.figures()['turnover_gbp_m']:,.1f}m."


def definitions(report: Report) -> list[str]:
    return ["Turnover is each NHS trust's annual turnover in the returns."]


FAMILY = Family(
    name="trust_turnover",
    title="NHS trusts' turnover",
    org_types=("sha", "nhs_trust"),
    org_help="NHS London (Q36) or one NHS trust",
    options=(TOP_N,),
    dictionary=(
        figure("turnover_gbp_m", "Turnover, NHS trusts", "Annual turnover, £m, from the returns."),
    ),
    figures=figures,
    summary=summary,
    definitions=definitions,
)
'''

FIFTH_CELLS = [
    (
        "parameters",
        'period: str = "2011-12-Q1"  # reporting period: YYYY-YY-MNN or YYYY-YY-QN\n'
        'org_code: str = "Q36"  # NHS London (Q36) or one NHS trust\n'
        "top_n: int = 5  # how many trusts the table lists\n"
        'returns_dir: str = ""  # folder holding period folders; empty for data/raw',
    ),
    (
        "setup",
        "from helpers.report import open_report, show_markdown, show_table\n"
        "from helpers.report.trust_turnover import turnover_table\n\n"
        "report = open_report(\n"
        '    "trust_turnover", period, org_code, top_n=top_n, returns_dir=returns_dir\n'
        ")",
    ),
    ("title", "show_markdown(report.title_markdown())\nshow_markdown(report.summary_markdown())"),
    ("table", "show_table(turnover_table(report))"),
    ("figures", "report.record_figures()"),
    ("notes", "show_markdown(report.notes_markdown())"),
]


def _add_fifth_family(root: Path) -> Path:
    """Copy the package and add the family: its module, its notebook, its registry line."""
    import nbformat
    import yaml

    src = root / "src"
    shutil.copytree(
        PROJ_ROOT / "src" / "helpers", src / "helpers", ignore=shutil.ignore_patterns("__pycache__")
    )
    (src / "helpers" / "report" / "trust_turnover.py").write_text(FIFTH_MODULE, encoding="utf-8")
    registry = src / "helpers" / "report" / "registry.py"
    text = registry.read_text(encoding="utf-8")
    text = text.replace("    regional_outturn,\n)", "    regional_outturn,\n    trust_turnover,\n)")
    text = text.replace(
        "        cluster_milestone_slippage,\n    )",
        "        cluster_milestone_slippage,\n        trust_turnover,\n    )",
    )
    assert text.count("trust_turnover") == 2, "the registry's shape changed: update this test"
    registry.write_text(text, encoding="utf-8")
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = {
        "name": "nhs-kit",
        "display_name": "NHS finance kit (Python 3.11)",
        "language": "python",
    }
    for cell_id, source in FIFTH_CELLS:
        cell = nbformat.v4.new_code_cell(source)  # type: ignore[no-untyped-call]
        cell.id = cell_id
        if cell_id == "parameters":
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nbformat.write(nb, root / "notebooks" / "trust_turnover.ipynb")  # type: ignore[no-untyped-call]
    params = root / "params" / f"{PERIOD}.yaml"
    spec = yaml.safe_load(params.read_text(encoding="utf-8"))
    spec["families"] = {"trust_turnover": {"orgs": "all", "options": {"top_n": 3}}}
    params.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return src


@pytest.mark.slow
def test_a_fifth_family_is_one_module_one_notebook_and_one_registry_line(tmp_path: Path) -> None:
    root = make_project(tmp_path / "kit", periods=(PERIOD,))
    src = _add_fifth_family(root)
    proc = run_kit(root, "reports", "--jobs", "2", env={"PYTHONPATH": str(src)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = root / "outputs" / PERIOD
    figures = pd.read_csv(out / "figures.csv", dtype={"org_code": str})
    assert set(figures["notebook"]) == {"trust_turnover"}
    trusts = figures.loc[figures["org_code"] != "Q36"]
    london = figures.loc[figures["org_code"] == "Q36", "value"].item()
    assert len(trusts) == 26 and set(trusts["figure"]) == {"turnover_gbp_m"}  # orgs: all
    assert london == pytest.approx(trusts["value"].sum(), abs=0.01)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "NHS trusts&#39; turnover" in index  # its title, escaped
    assert 'href="trust_turnover/RF4.html"' in index
    report = (out / "trust_turnover" / "Q36.html").read_text(encoding="utf-8")
    assert "The largest NHS trusts by turnover" in report


# --- the figure dictionary ----------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_every_figure_has_a_label_unit_direction_and_definition(family: str) -> None:
    for entry in FAMILIES[family].dictionary:
        assert entry.label and entry.label[0].isupper(), entry
        assert entry.definition.endswith("."), entry
        assert entry.better in ("higher", "lower", "neither"), entry
        assert entry.unit == unit_of(entry.name)
        if entry.unit == "gbp_m":
            assert "£m" in entry.definition, f"{entry.name}: say the unit"


def test_the_dictionary_is_published_beside_figures_csv(recorded: pd.DataFrame) -> None:
    """figure_definitions.csv joins figures.csv on (notebook, figure) with no row left out."""
    table = pd.read_csv(io.StringIO(definitions_csv(list(FAMILIES))), dtype=str)
    assert list(table.columns) == ["notebook", "figure", "label", "unit", "better", "definition"]
    joined = recorded.merge(table, on=["notebook", "figure"], how="left", indicator=True)
    assert set(joined["_merge"]) == {"both"}
    assert (joined["unit_x"] == joined["unit_y"]).all()
    assert not table.duplicated(["notebook", "figure"]).any()


def test_a_report_cannot_record_a_figure_without_a_definition() -> None:
    report = open_report("pct_support_needs", PERIOD, "5NC")
    bare = dataclasses.replace(
        report.spec,
        dictionary=tuple(f for f in report.spec.dictionary if f.name != "needs_support"),
    )
    with pytest.raises(FigureError, match="records needs_support, which its figure dictionary"):
        dataclasses.replace(report, spec=bare, _cache={}).figures()
