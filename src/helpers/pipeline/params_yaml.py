"""Reading a params file's YAML safely and within bounds, before any value is built.

>>> read_yaml(PARAMS_DIR / "2011-12-Q1.yaml", "params/2011-12-Q1.yaml")["period"]
'2011-12-Q1'

Dates stay text (no ``2011-03-31`` turned into a date), duplicate keys are refused, and the
YAML is bounded as it is composed: a file over :data:`MAX_PARAMS_BYTES` (1 MiB) is refused
unread, and anchors, aliases, merge keys, nesting deeper than :data:`MAX_YAML_DEPTH` and
integers longer than :data:`MAX_INT_CHARS` are refused with one line naming the line and
column, so an alias bomb never expands. Messages quote at most about a line of any value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from helpers.errors import ParameterError
from helpers.messages import QUOTE_LIMIT, quoted

#: before it is parsed.
MAX_PARAMS_BYTES = 1 << 20
#: How deep a params file may nest lists and mappings (a real one goes four deep).
MAX_YAML_DEPTH = 10
#: The most characters a YAML integer may have (Python refuses 4,300 digits, and YAML's
#: ``1:2:3`` base-60 integers take time for every digit).
MAX_INT_CHARS = 100
#: The most problems one refusal lists; a file with more ends "... and N more problems".


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


def shown_key(key: object) -> str:
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
