"""Names and parameters from files stay data: they never reach a path, a shell or live HTML.

- Organisation codes, periods and family names from a params file or the command line are
  refused before anything is written if they could name a path outside their folder.
- YAML is loaded safely (a Python tag is an error, never run), and no params file can flood
  memory or the terminal: aliases are refused, a file over 1 MiB is not read, and a message
  quotes at most about a line of any value.
- No code in src/ runs a shell.
- An organisation named ``<script>alert(1)</script>`` appears as text in every page the kit
  writes (checked on the helpers here, and on one real report run in the slow test).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from bad_inputs.batch import run_many
from IPython.display import Markdown
from kit_project import make_project, run_kit, tree_hashes

import helpers
from helpers.errors import ParameterError
from helpers.narrative import markdown_safe
from helpers.paths import ProjectPaths
from helpers.pipeline.overview import build_overview
from helpers.pipeline.pages import period_page, write_outputs_index
from helpers.pipeline.params import load_params
from helpers.pipeline.plan import build_plan
from helpers.report import display

PERIOD = "2011-12-Q1"
SCRIPT = "<script>alert(1)</script>"
SRC = Path(helpers.__file__).parent


class _Page(HTMLParser):
    """A page's text, the code of its scripts, and its elements' event-handler attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.handlers += [f"{tag} {k}={v}" for k, v in attrs if k.startswith("on")]
        self.handlers += [f"{tag} {k}={v}" for k, v in attrs if "javascript:" in (v or "")]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)


def assert_shown_as_text(html: str, name: str, *, present: bool = True) -> None:
    """``name`` is in the page's text (if ``present``) and never markup, script or handler."""
    page = _Page(html)
    assert name not in html, "the name reached the page unescaped"
    assert not any("alert(" in s for s in page.scripts)
    assert page.handlers == []
    if present:
        assert name in "".join(page.text)


def _set_name(root: Path, code: str, name: str) -> None:
    orgs = root / "data" / "reference" / "organisations.csv"
    frame = pd.read_csv(orgs, dtype=str, keep_default_na=False)
    frame.loc[frame["org_code"] == code, "name"] = name
    frame.to_csv(orgs, index=False)


def _params(root: Path, families: dict[str, object]) -> None:
    path = root / "params" / f"{PERIOD}.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["families"] = families
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")


# --- paths --------------------------------------------------------------------------------


def test_codes_and_periods_that_could_name_a_path_are_refused_before_any_write(
    tmp_path: Path,
) -> None:
    cases: list[tuple[str, tuple[str, ...], str]] = [
        ("org_in_params", ("reports", "--period", PERIOD), "orgs[1]: '../../x' is not an "),
        ("family_in_params", ("reports", "--period", PERIOD), "families.../../x: unknown report"),
        ("org_in_reference", ("reports", "--period", PERIOD), "org_code: '../../x' is not an"),
        ("period_reports", ("reports", "--period", "../../x"), "period '../../x'"),
        ("period_validate", ("validate", "--period", "../../x"), "period '../../x'"),
        ("period_new", ("new-period", "--period", "../../x"), "period '../../x'"),
    ]
    roots = {name: make_project(tmp_path / name, periods=(PERIOD,)) for name, _, _ in cases}
    _params(roots["org_in_params"], {"provider_shortfall": {"orgs": ["Q36", "../../x"]}})
    _params(roots["family_in_params"], {"../../x": {"orgs": "all"}})
    orgs = roots["org_in_reference"] / "data" / "reference" / "organisations.csv"
    orgs.write_text(orgs.read_text(encoding="utf-8").replace("\nRAL,", "\n../../x,"), "utf-8")
    before = tree_hashes(tmp_path)
    procs = run_many([(roots[name], args) for name, args, _ in cases])
    for (name, _, words), proc in zip(cases, procs, strict=True):
        assert proc.returncode != 0, name
        assert proc.stderr.startswith("error: ") and words in proc.stderr, (name, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert tree_hashes(tmp_path) == before  # nothing written anywhere, inside or outside
    assert not list(tmp_path.rglob("x*"))


# --- YAML and shells ----------------------------------------------------------------------


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", periods=(PERIOD,))
    marker = tmp_path / "ran"
    path = root / "params" / f"{PERIOD}.yaml"
    path.write_text(
        f"period: {PERIOD}\nfamilies: !!python/object/apply:os.system ['touch {marker}']\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ParameterError,
        match=r"params/2011-12-Q1\.yaml, line 2, column 11: not valid YAML: could not determine",
    ):
        load_params(path, ProjectPaths.under(root))
    assert not marker.exists()


def test_a_params_file_cannot_flood_memory_or_the_terminal(tmp_path: Path) -> None:
    """A 1 MB value, a long list, an alias bomb, a file over 1 MiB: each one short line."""
    head = f"period: {PERIOD}\nfamilies: {{}}\n"
    bomb = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    # five levels (9**5 strings), not nine: were the refusal lost, this should fail, not
    # take the machine's memory
    bomb += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 5)]
    cases = {
        "string": (head + "x: '" + "y" * 1_000_000 + "'\n", "x: unknown key (got 'yyy"),
        "list": (head + "x: [" + ", ".join(["1"] * 100_000) + "]\n", "x: unknown key (got [1"),
        "aliases": (head + "\n".join(bomb) + "\n", "line 3, column 5: YAML anchors (&a0)"),
        "size": (head + "#" * (1 << 20) + "\n", "larger than 1,048,576 bytes (1 MiB)"),
    }
    roots = {name: make_project(tmp_path / name, periods=(PERIOD,)) for name in cases}
    for name, (text, _) in cases.items():
        (roots[name] / "params" / f"{PERIOD}.yaml").write_text(text, encoding="utf-8")
    before = tree_hashes(tmp_path)
    procs = run_many([(roots[name], ("reports", "--period", PERIOD)) for name in cases])
    for (name, (_, words)), proc in zip(cases.items(), procs, strict=True):
        assert proc.returncode == 2, (name, proc.stderr[-2000:])
        assert len(proc.stderr) < 2_000, (name, proc.stderr[:2000])
        assert proc.stderr.startswith(f"error: params/{PERIOD}.yaml"), (name, proc.stderr)
        assert words in proc.stderr and len(proc.stderr.splitlines()) == 1, (name, proc.stderr)
    assert tree_hashes(tmp_path) == before


def test_yaml_loaders_in_src_are_safe() -> None:
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"yaml\.(unsafe_load|full_load)|Loader=yaml\.(Loader|Full)", text), (
            path
        )
        for call in re.finditer(r"yaml\.load\(", text):
            assert "Loader=_Loader)" in text[call.start() : call.start() + 120], path
    from helpers.pipeline.params_yaml import _Loader

    assert issubclass(_Loader, yaml.SafeLoader)


def test_no_code_in_src_runs_a_shell() -> None:
    pattern = re.compile(r"shell\s*=\s*True|os\.system\(|os\.popen\(|pty\.spawn|commands\.")
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []


# --- HTML -----------------------------------------------------------------------------------


def test_markdown_from_the_data_is_shown_as_text() -> None:
    assert markdown_safe(f"**{SCRIPT}** A&E [x](javascript:y)") == (
        r"**&lt;script&gt;alert(1)&lt;/script&gt;** A&amp;E \[x\](javascript:y)"
    )
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    html = markdown2html_mistune(markdown_safe(f"# {SCRIPT}\n\nBy [x](javascript:alert(1))"))
    assert_shown_as_text(html, SCRIPT)


def test_board_text_escapes_its_markdown_but_keeps_its_plain_text() -> None:
    text = display.BoardText(f"**{SCRIPT}** forecasts a deficit.")
    assert isinstance(text, Markdown)
    assert repr(text) == f"**{SCRIPT}** forecasts a deficit."
    assert (
        text._repr_markdown_() == "**&lt;script&gt;alert(1)&lt;/script&gt;** forecasts a deficit."
    )


def test_tables_escape_cells_and_captions() -> None:
    table = display.board_table(pd.DataFrame({"name": [SCRIPT]}), {"name": ("PCT", "text")}, SCRIPT)
    assert_shown_as_text(display.table_bundle(table)["text/html"], SCRIPT)
    empty = display.Table(pd.DataFrame(), "x", empty_text=SCRIPT)
    assert SCRIPT not in display.table_bundle(empty)["text/markdown"]


def test_index_pages_escape_names(tmp_path: Path) -> None:
    root = make_project(tmp_path, periods=(PERIOD,))
    _set_name(root, "5C9", SCRIPT)
    _params(root, {"pct_support_needs": {"orgs": ["Q36", "5C9"]}})
    dirs = ProjectPaths.under(root)
    params = load_params(root / "params" / f"{PERIOD}.yaml", dirs)
    plan = build_plan(params, dirs)
    figs = pd.DataFrame(columns=["period", "notebook", "org_code", "figure", "value", "unit"])
    figs.loc[0] = [PERIOD, "pct_support_needs", "5C9", "needs_support", 1.0, "flag"]
    page = period_page(build_overview(plan, figs, {f"{PERIOD}/pct_support_needs/5C9"}))
    assert_shown_as_text(page, SCRIPT)
    assert page.count(SCRIPT.replace("<", "&lt;").replace(">", "&gt;")) >= 2  # table, exceptions
    (dirs.outputs / PERIOD).mkdir(parents=True)
    (dirs.outputs / PERIOD / "index.html").write_text("x")
    write_outputs_index(dirs.outputs)
    assert_shown_as_text((dirs.outputs / "index.html").read_text(), SCRIPT, present=False)


@pytest.mark.slow
def test_a_real_report_shows_a_scripted_name_as_text(tmp_path: Path) -> None:
    """One period run for London and one PCT whose name is a script tag."""
    root = make_project(tmp_path, periods=(PERIOD,))
    _set_name(root, "5C9", SCRIPT)
    _params(root, {"pct_support_needs": {"orgs": ["Q36", "5C9"]}})
    proc = run_kit(root, "reports", "--period", PERIOD, "--jobs", "2")
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = root / "outputs"
    family = out / PERIOD / "pct_support_needs"
    report = (family / "5C9.html").read_text(encoding="utf-8")
    assert_shown_as_text(report, SCRIPT)
    assert "<title>PCT break-even and support needs: &lt;script&gt;" in report
    assert_shown_as_text((family / "Q36.html").read_text(encoding="utf-8"), SCRIPT)
    assert_shown_as_text((out / PERIOD / "index.html").read_text(encoding="utf-8"), SCRIPT)
    assert_shown_as_text((out / "index.html").read_text(encoding="utf-8"), SCRIPT, present=False)
    nb = json.loads((family / "5C9.ipynb").read_text(encoding="utf-8"))
    bundles = [o["data"] for c in nb["cells"] for o in c.get("outputs", []) if "data" in o]
    titles = [b for b in bundles if "text/markdown" in b and SCRIPT in "".join(b["text/plain"])]
    assert titles, "the name is in no Markdown output"
    assert all(SCRIPT not in "".join(b["text/markdown"]) for b in bundles if "text/markdown" in b)
