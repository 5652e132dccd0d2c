"""Quoting values in messages: never more than a line of anything a user typed or sent.

>>> quoted("tbc")
"'tbc'"
>>> quoted("x" * 500)[-16:]
'(500 characters)'
>>> quoted([[1] * 9] * 3)
'[[1, 1, 1, 1, 1, 1, ...], [1, 1, 1, 1, 1, 1, ...], [1, 1, 1, 1, 1, 1, ...]]'

A message names the value it refuses, but a value can be huge (a YAML alias bomb expands to
gigabytes, a cell can hold a pasted document): :func:`quoted` shows at most
:data:`QUOTE_LIMIT` characters of text, a few items of a list or mapping, never builds the
whole ``repr``, and says how long a cut text was.
"""

from __future__ import annotations

import reprlib

#: The most characters of a value that a message quotes.
QUOTE_LIMIT = 60

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxdict = 6
_REPR.maxstring = _REPR.maxother = QUOTE_LIMIT


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of ``value``, cut to about ``limit`` characters (a cut text gives its length)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    text = _REPR.repr(value)
    return text if len(text) <= 2 * limit else text[: 2 * limit] + "..."
