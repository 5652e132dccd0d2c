"""The params file: which reports run for which organisations in a period, with what options.

Usage example::

    params = load_params(PARAMS_DIR / "2011-12-Q1.yaml")
    params.families["provider_shortfall"].orgs      # ['Q36', 'RAL', 'RAN', ...]
    new_period_command("2011-12-Q2")                # params/2011-12-Q2.yaml from 2011-12-Q1

A params file is checked in full before any kernel starts: against its schema (pydantic,
unknown keys and wrong types refused), against each notebook's ``parameters`` cell (via
``papermill.inspect_notebook``), against the reference data (organisations valid in the
period) and against the data folder (the period's returns exist). Every problem names the
file and the key, e.g. ``params/2011-12-Q1.yaml: families.pct_support_needs.orgs[2]: ...``.

The YAML itself is bounded before any value is built: a file over :data:`MAX_PARAMS_BYTES`
(1 MiB) is refused unread, and anchors, aliases, merge keys, nesting deeper than ten and
overlong integers as the file is composed (one line with the line and column). Messages
quote values through :func:`helpers.messages.quoted`, so none shows more than about a line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
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
from helpers.messages import QUOTE_LIMIT, quoted
from helpers.paths import (
    NOTEBOOKS_DIR,
    OUTPUTS_DIR,
    PARAMS_DIR,
    PROCESSED_DIR,
    PROJ_ROOT,
    RAW_DIR,
    REFERENCE_DIR,
)
from helpers.report.family import Family
from helpers.report.registry import FAMILIES

#: Parameters the kit sets for every report; a params file may not set them as options.
KIT_PARAMETERS = ("period", "org_code", "returns_dir")
#: Seconds one cell may run before its report fails (a params file may set ``cell_timeout``).
DEFAULT_CELL_TIMEOUT = 600
ParamValue = StrictBool | StrictInt | StrictFloat | StrictStr
ORGS_EXPECTED = "expected 'all' or a list of organisation codes, e.g. [Q36, RF4]"
#: An organisation code: capital letters and digits. Codes name output files, so nothing
#: else (no ``/``, ``..`` or spaces) may reach a path.
ORG_CODE = re.compile(r"[A-Z0-9]{1,10}")
ORG_CODE_EXPECTED = "expected capital letters and digits only, e.g. Q36, RF4 or 5C9"
#: The largest params file the kit reads, 1 MiB (a real one is under 2 KiB); larger is refused
#: before it is parsed.
MAX_PARAMS_BYTES = 1 << 20
#: How deep a params file may nest lists and mappings (a real one goes four deep).
MAX_YAML_DEPTH = 10
#: The most characters a YAML integer may have (Python refuses 4,300 digits, and YAML's
#: ``1:2:3`` base-60 integers take time for every digit).
MAX_INT_CHARS = 100
#: The most problems one refusal lists; a file with more ends "... and N more problems".
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Dirs:
    """The project's folders (one root; tests pass a temporary project instead)."""

    root: Path = PROJ_ROOT
    params: Path = PARAMS_DIR
    notebooks: Path = NOTEBOOKS_DIR
    outputs: Path = OUTPUTS_DIR
    raw: Path = RAW_DIR
    processed: Path = PROCESSED_DIR
    reference: Path = REFERENCE_DIR

    @classmethod
    def under(cls, root: Path) -> Dirs:
        """The standard layout under another project root."""
        data = root / "data"
        return cls(
            root,
            root / "params",
            root / "notebooks",
            root / "outputs",
            data / "raw",
            data / "processed",
            data / "reference",
        )

    def show(self, path: Path) -> str:
        """``path`` relative to the project root when inside it (for messages)."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)


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


class ParamsFile(BaseModel):
    """A params file as written (``period``, ``returns_dir``, ``families``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    period: StrictStr
    returns_dir: StrictStr = ""
    cell_timeout: StrictInt = Field(default=DEFAULT_CELL_TIMEOUT, gt=0)
    families: dict[StrictStr, FamilySpec]


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


# --- YAML -----------------------------------------------------------------------------------


class _NotAllowed(yaml.composer.ComposerError):
    """Raised by the loader for YAML that is valid but has no place in a params file."""

    def __init__(self, problem: str, mark: Any) -> None:  # a Python or a libyaml Mark
        super().__init__(None, None, problem, mark)


_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"


def _anchor_problem(anchor: str, alias: bool) -> str:
    """The one-line refusal of an anchor or alias, naming it (at most 20 characters of it)."""
    name = anchor if len(anchor) <= 20 else anchor[:20] + "..."
    kinds = [f"aliases (*{name})", f"anchors (&{name})"]
    first, second = kinds if alias else kinds[::-1]
    return (
        f"YAML {first} and {second} are not allowed in a params file (write the value out in full)"
    )


class _Loader(yaml.SafeLoader):
    """A safe loader that keeps dates as text and refuses duplicate keys, anchors and aliases.

    Anchors, aliases and merge keys (``<<``) are refused as the file is composed, before any
    value is built, so an alias bomb (nine levels of ``&a [*a, *a, ...]``, gigabytes once
    expanded) stops at its first anchor. A params file never needs them, nor nesting deeper
    than :data:`MAX_YAML_DEPTH` or integers longer than :data:`MAX_INT_CHARS`, refused too.
    """

    _depth = 0  # lists and mappings open around the node being composed

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            alias = isinstance(event, yaml.AliasEvent)
            raise _NotAllowed(_anchor_problem(anchor, alias), event.start_mark)
        nested = isinstance(event, yaml.CollectionStartEvent)
        if nested and self._depth >= MAX_YAML_DEPTH:
            raise _NotAllowed(
                f"lists and mappings nested more than {MAX_YAML_DEPTH} deep are not allowed in "
                "a params file (it needs four)",
                event.start_mark,
            )
        self._depth += nested
        node = super().compose_node(parent, index)
        self._depth -= nested
        if node is not None and node.tag == _MERGE_TAG:
            raise _NotAllowed(
                "YAML merge keys (<<) are not allowed in a params file (write the keys out in "
                "full)",
                node.start_mark,
            )
        if node is not None and node.tag == _INT_TAG and len(node.value) > MAX_INT_CHARS:
            raise _NotAllowed(
                f"an integer of {len(node.value):,} characters is not allowed in a params file "
                f"(at most {MAX_INT_CHARS})",
                node.start_mark,
            )
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {quoted(key)}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _shown_key(key: object) -> str:
    """A key as messages show it: as written when short and printable, else quoted and cut."""
    if isinstance(key, str) and len(key) <= QUOTE_LIMIT and key.isprintable():
        return key
    return quoted(key)


def _cut(text: str, limit: int = 2 * QUOTE_LIMIT) -> str:
    """PyYAML's own words, which can quote a whole tag or token, cut to about a line."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """``, line 27, column 38: not valid YAML: expected ',' or ']', but got '}' (while ...)``."""
    mark = exc.problem_mark or exc.context_mark
    where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    context = ""
    if exc.context:
        at = exc.context_mark
        started = f" at line {at.line + 1}, column {at.column + 1}" if at else ""
        context = f" ({_cut(exc.context)}{started})"
    if isinstance(exc, _NotAllowed):
        return f"{where}: {exc.problem}"
    return f"{where}: not valid YAML: {_cut(exc.problem or exc.context or '')}{context}"


def _read_text(path: Path, shown: str) -> str:
    """The file as UTF-8 text, refused unparsed if over :data:`MAX_PARAMS_BYTES` (1 MiB)."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_PARAMS_BYTES + 1)  # never more, whatever the file
    except FileNotFoundError:
        raise ParameterError(f"{shown}: no such params file") from None
    except OSError as exc:
        raise ParameterError(f"{shown}: cannot read the params file ({exc.strerror})") from None
    if len(raw) > MAX_PARAMS_BYTES:
        raise ParameterError(
            f"{shown}: larger than {MAX_PARAMS_BYTES:,} bytes (1 MiB), the most a params file "
            "may be (a params file is a few dozen lines)"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ParameterError(
            f"{shown}, line {line}: not UTF-8 text (byte {raw[exc.start]:#04x}); save the "
            "params file as UTF-8"
        ) from None


def read_yaml(path: Path, shown: str) -> dict[str, Any]:
    """The file's top-level mapping (dates stay text); ParameterError naming the file.

    A file over :data:`MAX_PARAMS_BYTES` (1 MiB) is refused before it is parsed, and anything
    :class:`_Loader` refuses (anchors, aliases, ...) before any value is built.
    """
    text = _read_text(path, shown)
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else "a character"
        raise ParameterError(
            f"{shown}, line {line}: not valid YAML: unacceptable character {char} ({exc.reason})"
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise ParameterError(f"{shown}{_yaml_problem(exc)}") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"{shown}: not valid YAML: {_cut(str(exc))}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{shown}: expected keys period, returns_dir and families")
    return data


# --- notebooks' parameters ------------------------------------------------------------------


@dataclass(frozen=True)
class NotebookParameter:
    """A parameter declared in a notebook's ``parameters`` cell."""

    name: str
    type_name: str  # "str", "float", "int", "bool" or "None" (unknown)


def notebook_parameters(notebook: Path, cache_dir: Path | None = None) -> list[NotebookParameter]:
    """The notebook's declared parameters, in cell order, as papermill inspects them.

    An answer kept by :func:`remember_parameters` in ``cache_dir`` (under the notebook's
    SHA-256) is used instead, so a run that finds every report up to date never imports
    papermill (about 1.5 s of start-up).
    """
    digest = hashlib.sha256(notebook.read_bytes()).hexdigest()
    cached = _cache_entry(digest, cache_dir)
    if cached is not None and cached.is_file():
        try:
            return [NotebookParameter(n, t) for n, t in json.loads(cached.read_text("utf-8"))]
        except (ValueError, TypeError):
            pass  # a damaged cache entry: inspect again
    return _inspect(notebook.resolve(), digest)


def remember_parameters(
    notebook: Path, found: list[NotebookParameter], cache_dir: Path | None
) -> None:
    """Keep a notebook's inspected parameters for the next run (atomically; once valid)."""
    cached = _cache_entry(hashlib.sha256(notebook.read_bytes()).hexdigest(), cache_dir)
    if cached is None or cached.is_file():
        return
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps([[p.name, p.type_name] for p in found]), "utf-8")
    tmp.replace(cached)


def _cache_entry(digest: str, cache_dir: Path | None) -> Path | None:
    return cache_dir / f"{digest}.json" if cache_dir is not None else None


@cache
def _inspect(notebook: Path, digest: str) -> list[NotebookParameter]:
    import papermill

    found = papermill.inspect_notebook(notebook)
    return [NotebookParameter(n, str(p["inferred_type_name"])) for n, p in found.items()]


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
        where = f"{key}.options.{_shown_key(name)}"
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


def returns_folders(returns_dir: str, period: Period, dirs: Dirs) -> tuple[Path, Path]:
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
    from helpers.report.opening import returns_location  # the notebooks' own rule

    try:
        return returns_location(returns_dir, period)
    except (KitError, OSError):  # OSError: a path the system refuses, e.g. a name too long
        raise ParameterError(
            f"no returns for {period} in {quoted(returns_dir)} (expected a folder that holds "
            f"{period}/, or {period}/ itself; a relative path is taken from the project root)"
        ) from None


# --- loading ------------------------------------------------------------------------------


#: pydantic's names of the members of ``FamilySpec.orgs``'s union, as they appear in a loc.
_UNION_MEMBERS = ("literal['all']", "list[str]")


def _allowed_keys(loc: tuple[int | str, ...]) -> str:
    """The keys a mapping at ``loc`` may hold (a params file or a family's entry)."""
    model = ParamsFile if len(loc) == 1 else FamilySpec
    return ", ".join(model.model_fields)


def _schema_problems(exc: SchemaError) -> list[str]:
    """One ``key: what is wrong (got value; expected ...)`` line per schema error."""
    out = []
    for err in exc.errors():
        if "literal['all']" in err["loc"]:
            continue  # the input is a list (checked before): the list's own errors say why
        loc = tuple(p for p in err["loc"] if p not in _UNION_MEMBERS)
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{_shown_key(p)}" for p in loc)
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


def load_params(path: Path, dirs: Dirs | None = None) -> PeriodParams:
    """Read and check a params file; ParameterError listing every problem (file and key)."""
    dirs = dirs or Dirs()
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
        key = f"families.{_shown_key(family)}"
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
    if problems:
        raise fail(problems)
    for run in families.values():  # only a valid params file leaves anything behind
        remember_parameters(run.notebook, declared_by[run.family], cache_dir)
    return PeriodParams(
        path, period, spec.returns_dir, raw_dir, processed_dir, families, spec.cell_timeout
    )


def params_files(dirs: Dirs | None = None) -> list[Path]:
    """Every ``params/<period>.yaml``, in time order (files not named like a period skipped)."""
    dirs = dirs or Dirs()
    found: list[tuple[Period, Path]] = []
    for path in dirs.params.glob("*.yaml"):
        try:
            found.append((Period.parse(path.stem), path))
        except KitError:
            continue
    return [p for _, p in sorted(found)]


# --- a new period -------------------------------------------------------------------------


def new_period_command(period: str, dirs: Dirs | None = None) -> int:
    """Write ``params/<period>.yaml`` from the latest earlier params file (never overwrite)."""
    dirs = dirs or Dirs()
    new = Period.parse(period)
    target = dirs.params / f"{new}.yaml"
    earlier = [p for p in params_files(dirs) if Period.parse(p.stem) < new]
    if not earlier:
        raise ParameterError(f"no params file before {new} in {dirs.show(dirs.params)} to copy")
    source = earlier[-1]
    old = source.stem
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^period:.*$", f"period: {new}", text).replace(old, str(new))
    try:
        with target.open("x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise ParameterError(f"{dirs.show(target)} already exists; not overwriting it") from None
    print(
        f"wrote {dirs.show(target)} from {dirs.show(source)}; check its organisation lists "
        f"and options, and put the returns in {dirs.show(dirs.raw / str(new))}/"
    )
    return 0
