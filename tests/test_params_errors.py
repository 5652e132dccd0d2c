"""A bad params file is refused, one line per problem naming the key, value and expectation."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kit_project import make_project

from helpers.errors import ParameterError, ValidationError
from helpers.paths import ProjectPaths
from helpers.pipeline.params import MAX_PROBLEMS, load_params
from helpers.pipeline.params_yaml import MAX_PARAMS_BYTES, MAX_YAML_DEPTH

PERIOD = "2011-12-Q1"
SHOWN = f"params/{PERIOD}.yaml"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("params"), periods=(PERIOD,))


def _refusal(project: Path, change: Callable[[dict[str, Any]], None], name: str = PERIOD) -> str:
    """Write a changed copy of the period's params file and return the refusal's message."""
    spec = yaml.safe_load((project / "params" / f"{PERIOD}.yaml").read_text(encoding="utf-8"))
    change(spec)
    path = project / "params" / "changed" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(ParameterError) as caught:
        load_params(path, ProjectPaths.under(project))
    return str(caught.value)


def _options(family: str, **options: object) -> Callable[[dict[str, Any]], None]:
    return lambda spec: spec["families"][family]["options"].update(options)


def test_the_unedited_params_file_loads(project: Path) -> None:
    params = load_params(project / "params" / f"{PERIOD}.yaml", ProjectPaths.under(project))
    assert params.families["provider_shortfall"].options == {"threshold_pct": 1.0}


def test_an_option_of_the_wrong_type_is_a_message_not_a_crash(project: Path) -> None:
    message = _refusal(project, _options("provider_shortfall", threshold_pct="high"))
    assert message == (
        f"params/changed/{PERIOD}.yaml: families.provider_shortfall.options.threshold_pct: "
        "expected float, got str 'high'"
    )


def test_an_unknown_key_lists_the_keys_allowed(project: Path) -> None:
    message = _refusal(project, lambda spec: spec.update(threshold=2.0))
    assert message.endswith(
        "threshold: unknown key (got 2.0; expected only the keys period, returns_dir, "
        "cell_timeout, families, board_pack)"
    )
    message = _refusal(project, lambda spec: spec["families"]["pct_support_needs"].update(org=1))
    assert message.endswith(
        "families.pct_support_needs.org: unknown key (got 1; expected only the keys orgs, options)"
    )


# --- the board pack's appendix ---------------------------------------------------------------


def _appendix(value: object) -> Callable[[dict[str, Any]], None]:
    return lambda spec: spec.update(board_pack={"appendix": value})


def test_the_appendix_is_every_trust_and_pct_by_default_or_none_or_a_list(project: Path) -> None:
    dirs = ProjectPaths.under(project)
    source = project / "params" / f"{PERIOD}.yaml"
    spec = yaml.safe_load(source.read_text(encoding="utf-8"))
    everyone = load_params(source, dirs).appendix
    assert "RF4" in everyone and "5C9" in everyone and "TAK" in everyone
    assert not {"Q36", "NCL", "SWL"} & set(everyone)  # London and clusters have their own parts
    path = project / "params" / "appendix" / f"{PERIOD}.yaml"
    path.parent.mkdir(exist_ok=True)
    for value, expected in (("none", ()), (["5C9", "RF4"], ("5C9", "RF4"))):
        path.write_text(yaml.safe_dump({**spec, "board_pack": {"appendix": value}}), "utf-8")
        assert load_params(path, dirs).appendix == expected
    spec.pop("board_pack")
    path.write_text(yaml.safe_dump(spec), "utf-8")
    assert sorted(load_params(path, dirs).appendix) == sorted(everyone)


def test_appendix_codes_that_have_no_report_here_are_refused_with_file_and_key(
    project: Path,
) -> None:
    message = _refusal(project, _appendix(["RF4", "RF4", "Q36", "NCL", "XYZ", "R1H"]))
    lines = message.splitlines()
    assert len(lines) == 5
    shown = f"params/changed/{PERIOD}.yaml: board_pack.appendix"
    assert lines[0] == f"{shown}[1]: 'RF4' is listed twice"
    assert lines[1].startswith(f"{shown}[2]: 'Q36' is London or a cluster, whose reports have")
    assert lines[2].startswith(f"{shown}[3]: 'NCL' is London or a cluster")
    assert lines[3].startswith(
        f"{shown}[4]: 'XYZ' is not an organisation in data/reference/organisations.csv"
    )
    assert lines[4].startswith(f"{shown}[5]: 'R1H' has no report of its own in this params file")
    assert all("(expected trusts or PCTs with reports, e.g. " in line for line in lines[1:])


def test_a_trust_left_out_of_its_family_cannot_go_in_the_appendix(project: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["families"]["provider_shortfall"]["orgs"] = ["Q36", "RJ7"]
        spec["board_pack"] = {"appendix": ["RJ7", "RF4"]}

    message = _refusal(project, change)
    assert message == (
        f"params/changed/{PERIOD}.yaml: board_pack.appendix[1]: 'RF4' has no report of its own "
        "in this params file (expected trusts or PCTs with reports, e.g. 5A4, 5A5, 5A7)"
    )


@pytest.mark.parametrize(
    ("board_pack", "line"),
    [
        (
            {"appendix": "some"},
            "board_pack.appendix: expected 'all', 'none' or a list of organisation codes, e.g. "
            "[RF4, 5C9] (got 'some')",
        ),
        (
            {"appendix": ["RF4", 7]},
            "board_pack.appendix[1]: Input should be a valid string (got 7)",
        ),
        (
            {"appendix": "all", "cover": True},
            "board_pack.cover: unknown key (got True; expected only the keys appendix)",
        ),
    ],
)
def test_a_board_pack_entry_of_the_wrong_shape_is_one_line(
    project: Path, board_pack: dict[str, Any], line: str
) -> None:
    message = _refusal(project, lambda spec: spec.update(board_pack=board_pack))
    assert message == f"params/changed/{PERIOD}.yaml: {line}"


def test_a_missing_key_says_so(project: Path) -> None:
    message = _refusal(project, lambda spec: spec.pop("families"))
    assert message.endswith("families: missing (expected a value for families)")


@pytest.mark.parametrize(
    ("orgs", "line"),
    [
        (
            "5C9",
            "orgs: expected 'all' or a list of organisation codes, e.g. [Q36, RF4] (got '5C9')",
        ),
        ({"a": 1}, "orgs: expected 'all' or a list of organisation codes, e.g. [Q36, RF4]"),
        (["Q36", 5], "orgs[1]: Input should be a valid string (got 5)"),
    ],
)
def test_orgs_that_are_not_all_or_a_list_of_codes_give_one_line(
    project: Path, orgs: object, line: str
) -> None:
    message = _refusal(
        project, lambda spec: spec["families"]["pct_support_needs"].update(orgs=orgs)
    )
    assert len(message.splitlines()) == 1, message
    assert f"families.pct_support_needs.{line}" in message


def test_a_period_without_returns_says_where_they_were_expected(project: Path) -> None:
    message = _refusal(project, lambda spec: spec.update(period="2011-12-Q2"), name="2011-12-Q2")
    assert message == (
        "params/changed/2011-12-Q2.yaml: returns_dir: no returns for 2011-12-Q2: the folder "
        "data/raw/2011-12-Q2 does not exist (expected the period's returns in "
        "data/raw/2011-12-Q2/ as CSV files or one returns.xlsx, or a returns_dir that holds them)"
    )


@pytest.mark.parametrize("code", ["../../x", "RAL/..", "ral", "R AL", "", "Q36\n"])
def test_an_org_code_that_is_not_letters_and_digits_is_refused(project: Path, code: str) -> None:
    message = _refusal(
        project, lambda spec: spec["families"]["provider_shortfall"].update(orgs=["Q36", code])
    )
    assert message == (
        f"params/changed/{PERIOD}.yaml: families.provider_shortfall.orgs[1]: {code!r} is not "
        "an organisation code (expected capital letters and digits only, e.g. Q36, RF4 or 5C9)"
    )


def test_a_reference_code_that_could_reach_a_path_is_refused(tmp_path: Path) -> None:
    root = make_project(tmp_path, periods=(PERIOD,))
    orgs = root / "data" / "reference" / "organisations.csv"
    orgs.write_text(orgs.read_text(encoding="utf-8").replace("\nRAL,", "\n../../x,"), "utf-8")
    with pytest.raises(ValidationError) as caught:
        load_params(root / "params" / f"{PERIOD}.yaml", ProjectPaths.under(root))
    assert str(caught.value).splitlines()[1] == (
        "  - data/reference/organisations.csv, row 53, column org_code: '../../x' is not an "
        "organisation code (expected capital letters and digits only, e.g. Q36, RF4 or 5C9)"
    )


def test_a_yaml_syntax_error_is_one_line_with_its_place(project: Path) -> None:
    path = project / "params" / "changed" / f"{PERIOD}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"period: {PERIOD}\nfamilies: {{a: [1, 2}}\n", encoding="utf-8")
    with pytest.raises(ParameterError) as caught:
        load_params(path, ProjectPaths.under(project))
    assert str(caught.value) == (
        f"params/changed/{PERIOD}.yaml, line 2, column 20: not valid YAML: expected ',' or ']', "
        "but got '}' (while parsing a flow sequence at line 2, column 15)"
    )


def test_a_duplicate_key_is_refused_with_its_place(project: Path) -> None:
    path = project / "params" / "changed" / f"{PERIOD}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"period: {PERIOD}\nperiod: {PERIOD}\nfamilies: {{}}\n", encoding="utf-8")
    with pytest.raises(ParameterError) as caught:
        load_params(path, ProjectPaths.under(project))
    assert str(caught.value) == (
        f"params/changed/{PERIOD}.yaml, line 2, column 1: not valid YAML: duplicate key 'period'"
    )


# --- YAML a params file never needs ---------------------------------------------------------


def _write(project: Path, text: str) -> Path:
    path = project / "params" / "changed" / f"{PERIOD}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def alias_bomb(levels: int) -> str:
    """A params file that starts with ``levels`` of ``aN: &aN [*aN-1, ...]`` (9**levels)."""
    lines = [f"period: {PERIOD}", "a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return "\n".join([*lines, "families: {}", ""])


def test_an_alias_bomb_is_refused_at_its_first_anchor_before_anything_is_built(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers.pipeline.params_yaml import _Loader

    built: list[str] = []

    def spy(self: _Loader, node: object) -> dict[str, object]:
        built.append("a document")  # and build nothing: the bomb must never expand here
        return {}

    monkeypatch.setattr(_Loader, "construct_document", spy)
    path = _write(project, alias_bomb(9))  # 9**9 strings, gigabytes once expanded
    with pytest.raises(ParameterError) as caught:
        load_params(path, ProjectPaths.under(project))
    assert built == []
    assert str(caught.value) == (
        f"params/changed/{PERIOD}.yaml, line 2, column 5: YAML anchors (&a0) and aliases (*a0) "
        "are not allowed in a params file (write the value out in full)"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "families: *nope\n",
            "line 2, column 11: YAML aliases (*nope) and anchors (&nope) are not allowed",
        ),
        (
            "families: &" + "x" * 500 + " {}\n",
            f"line 2, column 11: YAML anchors (&{'x' * 20}...) and aliases (*{'x' * 20}...) are",
        ),
        (
            "families:\n  <<: {pct_support_needs: {orgs: all}}\n",
            "line 3, column 3: YAML merge keys (<<) are not allowed in a params file (write the "
            "keys out in full)",
        ),
    ],
    ids=["alias", "long-anchor", "merge-key"],
)
def test_aliases_anchors_and_merge_keys_are_one_line_with_their_place(
    project: Path, text: str, line: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        load_params(_write(project, f"period: {PERIOD}\n{text}"), ProjectPaths.under(project))
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"params/changed/{PERIOD}.yaml, {line}"), message


def test_a_params_file_over_1_mib_is_refused_unparsed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = (project / "params" / f"{PERIOD}.yaml").read_text(encoding="utf-8")
    padded = good + "#" + "x" * (MAX_PARAMS_BYTES - len(good.encode()) - 2) + "\n"
    path = _write(project, padded)
    assert path.stat().st_size == MAX_PARAMS_BYTES
    load_params(path, ProjectPaths.under(project))  # the limit itself is allowed
    path.write_text(padded + "\n", encoding="utf-8")
    parsed: list[object] = []
    monkeypatch.setattr(yaml, "load", lambda *args, **kwargs: parsed.append(1))
    with pytest.raises(ParameterError) as caught:
        load_params(path, ProjectPaths.under(project))
    assert str(caught.value) == (
        f"params/changed/{PERIOD}.yaml: larger than 1,048,576 bytes (1 MiB), the most a params "
        "file may be (a params file is a few dozen lines)"
    )
    assert parsed == []


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "families: {x: " + "[" * 100_000 + "]" * 100_000 + "}\n",
            "line 2, column 23: lists and mappings nested more than 10 deep are not allowed in a "
            "params file (it needs four)",
        ),
        (
            "cell_timeout: " + "9" * 5_000 + "\nfamilies: {}\n",
            "line 2, column 15: an integer of 5,000 characters is not allowed in a params file "
            "(at most 100)",
        ),
        (
            "cell_timeout: 1" + ":1" * 20_000 + "\nfamilies: {}\n",  # YAML 1.1 base 60
            "line 2, column 15: an integer of 40,001 characters is not allowed",
        ),
        (
            "families: {}\nx: a\0b\n",
            "line 3: not valid YAML: unacceptable character #x0000 (special characters are not "
            "allowed)",
        ),
    ],
    ids=["nested", "long-integer", "base-60-integer", "nul-character"],
)
def test_yaml_beyond_what_a_params_file_needs_is_one_line_with_its_place(
    project: Path, text: str, line: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        load_params(_write(project, f"period: {PERIOD}\n{text}"), ProjectPaths.under(project))
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message[:500]
    assert message.startswith(f"params/changed/{PERIOD}.yaml, {line}"), message[:500]


def test_nesting_up_to_the_limit_is_left_to_the_schema(project: Path) -> None:
    def families(depth: int) -> str:  # the file's own mapping, then lists
        return "[" * (depth - 1) + "]" * (depth - 1)

    path = _write(project, f"period: {PERIOD}\nfamilies: {families(MAX_YAML_DEPTH)}\n")
    with pytest.raises(ParameterError) as caught:
        load_params(path, ProjectPaths.under(project))
    assert "families: Input should be a valid dictionary (got [[" in str(caught.value)
    path = _write(project, f"period: {PERIOD}\nfamilies: {families(MAX_YAML_DEPTH + 1)}\n")
    with pytest.raises(ParameterError, match="nested more than 10 deep"):
        load_params(path, ProjectPaths.under(project))


def test_a_params_file_that_is_not_utf8_names_the_line(project: Path) -> None:
    path = _write(project, "")
    path.write_bytes(f"period: {PERIOD}\nfamilies: {{}}\n# caf\xe9\n".encode("cp1252"))
    with pytest.raises(ParameterError) as caught:
        load_params(path, ProjectPaths.under(project))
    assert str(caught.value) == (
        f"params/changed/{PERIOD}.yaml, line 3: not UTF-8 text (byte 0xe9); save the params "
        "file as UTF-8"
    )


# --- values quoted in messages --------------------------------------------------------------

BIG = "y" * 100_000  # tests/test_security.py sends 1 MB through the command line
CUT = f"'{'y' * 60}'... (100,000 characters)"  # helpers.messages.quoted's cut


def _family(**entry: object) -> Callable[[dict[str, Any]], None]:
    return lambda spec: spec["families"]["provider_shortfall"].update(entry)


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (lambda spec: spec.update(x=BIG), f"x: unknown key (got {CUT}; expected only the keys"),
        (
            lambda spec: spec.update(x=[[1] * 1_000 for _ in range(10)]),
            "x: unknown key (got [[1, 1, 1, 1, 1, 1, ...], [1, 1, 1, 1, 1, 1, ...], [1, 1, 1",
        ),
        (lambda spec: spec.update({BIG: 1}), f"{CUT}: unknown key (got 1; expected only"),
        (
            _options("provider_shortfall", threshold_pct=BIG),
            f"threshold_pct: expected float, got str {CUT}",
        ),
        (_options("provider_shortfall", **{BIG: 1}), f"options.{CUT}: unknown option"),
        (_family(orgs=[BIG]), f"provider_shortfall.orgs[0]: {CUT} is not an organisation code"),
        (_family(orgs={"a": BIG}), "(got {'a': 'yyyyyyyyyy"),
        (lambda spec: spec["families"].update({BIG: {}}), f"families.{CUT}: unknown report family"),
        (lambda spec: spec.update(period=BIG), f"period: period {CUT} is not of the form"),
        (
            lambda spec: spec.update(returns_dir=BIG),
            f"returns_dir: no returns for {PERIOD} in {CUT} (",
        ),
        (lambda spec: spec.update(returns_dir="d/" * 50_000), "returns_dir: no returns for"),
    ],
    ids=[
        "string-in-unknown-key",
        "list-in-unknown-key",
        "unknown-key-name",
        "option-value",
        "option-name",
        "org-code",
        "orgs-mapping",
        "family-name",
        "period",
        "returns-dir",
        "returns-dir-too-long-for-the-system",
    ],
)
def test_a_huge_value_is_quoted_in_at_most_a_line(
    project: Path, change: Callable[[dict[str, Any]], None], line: str
) -> None:
    message = _refusal(project, change)
    assert len(message) < 400, message[:1000]
    assert len(message.splitlines()) == 1, message[:1000]
    assert line in message, message


def test_a_duplicate_key_and_an_unknown_tag_are_cut_to_a_line(project: Path) -> None:
    for text in (f"? {BIG}\n: 1\n? {BIG}\n: 2\n", f"families: !{BIG} {{}}\n"):
        with pytest.raises(ParameterError) as caught:
            load_params(_write(project, f"period: {PERIOD}\n{text}"), ProjectPaths.under(project))
        message = str(caught.value)
        assert len(message) < 300, message[:1000]
        assert re.search(r"\.\.\. \(100,0\d\d characters\)$", message), message


def test_a_file_with_many_problems_lists_the_first_twenty(project: Path) -> None:
    message = _refusal(project, _family(orgs=list(range(1_000))))
    lines = message.splitlines()
    assert len(lines) == MAX_PROBLEMS + 1 == 21
    assert lines[0].endswith(
        "families.provider_shortfall.orgs[0]: Input should be a valid string (got 0)"
    )
    assert lines[-1] == f"params/changed/{PERIOD}.yaml: ... and 980 more problems"
