"""The params file: which reports run for which organisations in a period, with what options.

Usage example::

    params = load_params(PARAMS_DIR / "2011-12-Q1.yaml")
    params.families["provider_shortfall"].orgs      # ['Q36', 'RAL', 'RAN', ...]
    write_new_period("2011-12-Q2")                  # params/2011-12-Q2.yaml from 2011-12-Q1

A params file is checked in full before any kernel starts: against its schema (pydantic,
unknown keys and wrong types refused), against each notebook's ``parameters`` cell (via
``papermill.inspect_notebook``), against the reference data (organisations valid in the
period) and against the data folder (the period's returns exist). Every problem names the
file and the key, e.g. ``params/2011-12-Q1.yaml: families.pct_support_needs.orgs[2]: ...``.

The YAML itself is read within bounds (:mod:`~helpers.pipeline.params_yaml`: no aliases, at
most 1 MiB) and the notebooks' parameters cells are inspected once per notebook version
(:mod:`~helpers.pipeline.notebook_parameters`). Messages quote values through
:func:`helpers.messages.quoted`, so none shows more than about a line, and a refusal lists at
most :data:`MAX_PROBLEMS` problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)
from pydantic import ValidationError as SchemaError

from helpers.data.organisations import Reference, load_reference
from helpers.data.periods import Period
from helpers.errors import KitError, ParameterError
from helpers.files import storage_faults
from helpers.messages import quoted
from helpers.paths import DEFAULT, ProjectPaths
from helpers.pipeline.notebook_parameters import (
    NotebookParameter,
    notebook_parameters,
    remember_parameters,
)
from helpers.pipeline.params_yaml import read_yaml, shown_key
from helpers.report.family import KIT_PARAMETERS, Family
from helpers.report.registry import FAMILIES

#: Seconds one cell may run before its report fails (a params file may set ``cell_timeout``).
DEFAULT_CELL_TIMEOUT = 600
ParamValue = StrictBool | StrictInt | StrictFloat | StrictStr
ORGS_EXPECTED = "expected 'all' or a list of organisation codes, e.g. [Q36, RF4]"
#: An organisation code: capital letters and digits. Codes name output files, so nothing
#: else (no ``/``, ``..`` or spaces) may reach a path.
ORG_CODE = re.compile(r"[A-Z0-9]{1,10}")
ORG_CODE_EXPECTED = "expected capital letters and digits only, e.g. Q36, RF4 or 5C9"
APPENDIX_EXPECTED = "expected 'all', 'none' or a list of organisation codes, e.g. [RF4, 5C9]"
#: Organisation types whose reports have their own sections of the board pack (not the appendix)
PACK_SECTION_TYPES = ("sha", "cluster")
#: The largest params file the kit reads, 1 MiB (a real one is under 2 KiB); larger is refused
MAX_PROBLEMS = 20


# --- the schema ---------------------------------------------------------------------------


class FamilySpec(BaseModel):
    """One report family's entry: which organisations, and its options."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    orgs: Literal["all"] | list[StrictStr] = "all"
    options: dict[StrictStr, ParamValue] = {}

    @field_validator("orgs", mode="before")
    @classmethod
    def _all_or_a_list(cls, value: object) -> object:
        """One clear error for anything but ``all`` or a list (not one per union member)."""
        if value == "all" or isinstance(value, list):
            return value
        raise ValueError(ORGS_EXPECTED)


class BoardPackSpec(BaseModel):
    """The board pack's entry: which organisations' own reports go in its appendix."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    appendix: Literal["all", "none"] | list[StrictStr] = "all"

    @field_validator("appendix", mode="before")
    @classmethod
    def _all_none_or_a_list(cls, value: object) -> object:
        """One clear error for anything but ``all``, ``none`` or a list."""
        if value in ("all", "none") or isinstance(value, list):
            return value
        raise ValueError(APPENDIX_EXPECTED)


class ParamsFile(BaseModel):
    """A params file as written (``period``, ``returns_dir``, ``families``, ``board_pack``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    period: StrictStr
    returns_dir: StrictStr = ""
    cell_timeout: StrictInt = Field(default=DEFAULT_CELL_TIMEOUT, gt=0)
    families: dict[StrictStr, FamilySpec]
    board_pack: BoardPackSpec = BoardPackSpec()


@dataclass(frozen=True)
class FamilyRun:
    """A validated family: its notebook, the organisations it runs for and its options."""

    family: str
    notebook: Path
    orgs: list[str]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PeriodParams:
    """A validated params file, ready to plan."""

    source: Path
    period: Period
    returns_dir: str  # as written (passed to every notebook)
    raw_dir: Path  # the folder of period folders that holds the returns
    processed_dir: Path  # where the processed layer of those returns lives
    families: dict[str, FamilyRun]
    cell_timeout: int = DEFAULT_CELL_TIMEOUT  # seconds a cell may run before its report fails
    #: Organisations whose own reports go in the board pack's appendix (all by default)
    appendix: tuple[str, ...] = ()


# --- options against the notebook's parameters ------------------------------------------


_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "float": (float, int),
    "int": (int,),
    "bool": (bool,),
}


def _option_problem(value: object, declared: NotebookParameter) -> str | None:
    wanted = _TYPES.get(declared.type_name)
    if wanted is None:
        return None
    if isinstance(value, bool) and declared.type_name != "bool":
        return f"expected {declared.type_name}, got {quoted(value)}"
    if not isinstance(value, wanted):
        return f"expected {declared.type_name}, got {type(value).__name__} {quoted(value)}"
    return None


def _check_options(spec: FamilySpec, declared: list[NotebookParameter], key: str) -> list[str]:
    by_name = {p.name: p for p in declared}
    names = ", ".join(by_name)
    problems = [
        f"{key}: the notebook does not declare the parameter {name!r} (its parameters are {names})"
        for name in KIT_PARAMETERS
        if name not in by_name
    ]
    for name, value in spec.options.items():
        where = f"{key}.options.{shown_key(name)}"
        if name in KIT_PARAMETERS:
            problems.append(f"{where}: set by the kit for every report, not an option")
        elif name not in by_name:
            problems.append(f"{where}: unknown option (the notebook's parameters are {names})")
        elif problem := _option_problem(value, by_name[name]):
            problems.append(f"{where}: {problem}")
    return problems


# --- organisations, returns -----------------------------------------------------------------


def _orgs(spec: FamilySpec, family: Family, period: Period, ref: Reference, key: str) -> list[str]:
    if spec.orgs == "all":
        codes = ref.orgs_of_types(family.org_types, period)
        bad = [c for c in codes if not ORG_CODE.fullmatch(c)]
        if bad:
            raise ParameterError(
                "\n".join(
                    f"{key}.orgs: all includes {quoted(c)} from data/reference/organisations.csv, "
                    f"which is not an organisation code ({ORG_CODE_EXPECTED})"
                    for c in bad
                )
            )
        return codes
    problems = []
    seen: set[str] = set()
    for i, code in enumerate(spec.orgs):
        if not ORG_CODE.fullmatch(code):
            problems.append(
                f"{key}.orgs[{i}]: {quoted(code)} is not an organisation code ({ORG_CODE_EXPECTED})"
            )
            continue
        if code in seen:
            problems.append(f"{key}.orgs[{i}]: {quoted(code)} is listed twice")
        seen.add(code)
        try:
            ref.check_org(code, family.org_types, period, family.name)
        except KitError as exc:
            problems.append(f"{key}.orgs[{i}]: {exc}")
    if problems:
        raise ParameterError("\n".join(problems))
    return list(spec.orgs)


def _appendix(
    spec: BoardPackSpec, families: dict[str, FamilyRun], ref: Reference
) -> tuple[list[str], list[str]]:
    """The appendix's organisations (every one with its own report, unless listed), and the
    problems of a list: a code that is not such an organisation, or one listed twice."""
    own = dict.fromkeys(
        org
        for run in families.values()
        for org in run.orgs
        if ref.org_type(org) not in PACK_SECTION_TYPES
    )
    if spec.appendix == "all":
        return list(own), []
    if spec.appendix == "none":
        return [], []
    problems = []
    seen: set[str] = set()
    for i, code in enumerate(spec.appendix):
        key = f"board_pack.appendix[{i}]: {quoted(code)}"
        if code in seen:
            problems.append(f"{key} is listed twice")
        elif code not in own:
            known = ref.organisations["org_code"].astype(str).tolist()
            kind = ref.org_type(code) if code in known else ""
            why = (
                "is London or a cluster, whose reports have their own sections of the pack"
                if kind in PACK_SECTION_TYPES
                else "has no report of its own in this params file"
                if kind
                else "is not an organisation in data/reference/organisations.csv"
            )
            example = ", ".join(list(own)[:3]) or "none here"
            problems.append(f"{key} {why} (expected trusts or PCTs with reports, e.g. {example})")
        seen.add(code)
    return list(spec.appendix), problems


def returns_folders(returns_dir: str, period: Period, dirs: ProjectPaths) -> tuple[Path, Path]:
    """(raw, processed) folders for ``returns_dir`` ("" is the project's own data/raw)."""
    if not returns_dir.strip():
        if not (dirs.raw / str(period)).is_dir():
            folder = dirs.show(dirs.raw / str(period))
            raise ParameterError(
                f"no returns for {period}: the folder {folder} does not exist (expected the "
                f"period's returns in {folder}/ as CSV files or one returns.xlsx, or a "
                "returns_dir that holds them)"
            )
        return dirs.raw, dirs.processed
    try:
        return dirs.returns_folders(returns_dir, period)
    except (KitError, OSError):  # OSError: a path the system refuses, e.g. a name too long
        raise ParameterError(
            f"no returns for {period} in {quoted(returns_dir)} (expected a folder that holds "
            f"{period}/, or {period}/ itself; a relative path is taken from the project root)"
        ) from None


# --- loading ------------------------------------------------------------------------------


#: pydantic's names of the members of the unions ``FamilySpec.orgs`` and
#: ``BoardPackSpec.appendix``, as they appear in a loc.
_LITERALS = ("literal['all']", "literal['all','none']")
_UNION_MEMBERS = (*_LITERALS, "list[str]")


def _allowed_keys(loc: tuple[int | str, ...]) -> str:
    """The keys a mapping at ``loc`` may hold (a params file or a family's entry)."""
    model = ParamsFile if len(loc) == 1 else BoardPackSpec if loc[0] == "board_pack" else FamilySpec
    return ", ".join(model.model_fields)


def _schema_problems(exc: SchemaError) -> list[str]:
    """One ``key: what is wrong (got value; expected ...)`` line per schema error."""
    out = []
    for err in exc.errors():
        if any(literal in err["loc"] for literal in _LITERALS):
            continue  # the input is a list (checked before): the list's own errors say why
        loc = tuple(p for p in err["loc"] if p not in _UNION_MEMBERS)
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{shown_key(p)}" for p in loc)
        key = key.lstrip(".") or "(top level)"
        got = f" (got {quoted(err['input'])})"
        if err["type"] == "missing":
            out.append(f"{key}: missing (expected a value for {key})")
        elif err["type"] == "extra_forbidden":
            out.append(
                f"{key}: unknown key{got[:-1]}; expected only the keys {_allowed_keys(loc)})"
            )
        else:
            out.append(f"{key}: {err['msg'].removeprefix('Value error, ')}{got}")
    return out


def load_params(path: Path, dirs: ProjectPaths | None = None) -> PeriodParams:
    """Read and check a params file; ParameterError listing every problem (file and key)."""
    dirs = dirs or DEFAULT
    shown = dirs.show(path)

    def fail(problems: list[str]) -> ParameterError:
        more = len(problems) - MAX_PROBLEMS
        listed = problems[:MAX_PROBLEMS] + ([f"... and {more:,} more problems"] if more > 0 else [])
        return ParameterError("\n".join(f"{shown}: {p}" for p in listed))

    try:
        spec = ParamsFile.model_validate(read_yaml(path, shown))
    except SchemaError as exc:
        raise fail(_schema_problems(exc)) from None
    try:
        period = Period.parse(spec.period)
    except KitError as exc:
        raise fail([f"period: {exc}"]) from None
    if str(period) != path.stem:
        raise fail([f"period: {quoted(spec.period)} differs from the file name ({path.name})"])
    try:
        raw_dir, processed_dir = returns_folders(spec.returns_dir, period, dirs)
    except ParameterError as exc:
        raise fail([f"returns_dir: {exc}"]) from None

    ref = load_reference(dirs.reference)
    problems: list[str] = []
    families: dict[str, FamilyRun] = {}
    declared_by: dict[str, list[NotebookParameter]] = {}
    cache_dir = dirs.processed / ".notebook-parameters"
    for family, fam in spec.families.items():
        key = f"families.{shown_key(family)}"
        notebook = dirs.notebooks / f"{family}.ipynb"
        if family not in FAMILIES or not notebook.is_file():
            known = ", ".join(sorted(p.stem for p in dirs.notebooks.glob("*.ipynb")))
            problems.append(f"{key}: unknown report family (the notebooks are {known})")
            continue
        declared = declared_by[family] = notebook_parameters(notebook, cache_dir)
        option_problems = _check_options(fam, declared, key)
        problems += option_problems
        try:
            orgs = _orgs(fam, FAMILIES[family], period, ref, key)
        except ParameterError as exc:
            problems += str(exc).splitlines()
            continue
        if option_problems:
            continue
        types = {p.name: p.type_name for p in declared}
        options = {
            k: float(v) if types.get(k) == "float" and not isinstance(v, bool) else v
            for k, v in fam.options.items()
        }
        families[family] = FamilyRun(family, notebook, orgs, options)
    appendix: list[str] = []
    if not problems:  # the appendix is checked against valid families only
        appendix, problems = _appendix(spec.board_pack, families, ref)
    if problems:
        raise fail(problems)
    for run in families.values():  # only a valid params file leaves anything behind
        remember_parameters(run.notebook, declared_by[run.family], cache_dir)
    return PeriodParams(
        path,
        period,
        spec.returns_dir,
        raw_dir,
        processed_dir,
        families,
        spec.cell_timeout,
        tuple(appendix),
    )


def params_files(dirs: ProjectPaths | None = None) -> list[Path]:
    """Every ``params/<period>.yaml``, in time order (files not named like a period skipped)."""
    dirs = dirs or DEFAULT
    found: list[tuple[Period, Path]] = []
    for path in dirs.params.glob("*.yaml"):
        try:
            found.append((Period.parse(path.stem), path))
        except KitError:
            continue
    return [p for _, p in sorted(found)]


# --- a new period -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPeriod:
    """A params file written for a new period, and the earlier one it was copied from."""

    written: Path
    copied_from: Path


def write_new_period(period: str, dirs: ProjectPaths = DEFAULT) -> NewPeriod:
    """Write ``params/<period>.yaml`` from the latest earlier params file (never overwrite)."""
    new = Period.parse(period)
    target = dirs.params / f"{new}.yaml"
    earlier = [p for p in params_files(dirs) if Period.parse(p.stem) < new]
    if not earlier:
        raise ParameterError(f"no params file before {new} in {dirs.show(dirs.params)} to copy")
    source = earlier[-1]
    old = source.stem
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^period:.*$", f"period: {new}", text).replace(old, str(new))
    if target.exists():
        raise ParameterError(f"{dirs.show(target)} already exists; not overwriting it")
    with storage_faults(target), target.open("x", encoding="utf-8") as fh:  # never overwrites
        fh.write(text)
    return NewPeriod(target, source)
