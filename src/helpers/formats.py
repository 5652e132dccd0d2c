"""How board papers write numbers: one rounding rule for every output, £m in text and tables.

>>> amount(-106.8), money_cell(-106.8), money_cell(1234.5), outturn_phrase(-106.8)
('£106.8m', '(106.8)', '1,234.5', 'a deficit of £106.8m')
>>> signed_phrase(-196.0), movement_phrase(2.8, "M02"), pct(16.9915), rounded(0.05)
('£196.0m below plan', 'up £2.8m since M02', '17.0%', 0.1)

Text never shows a bracketed amount (brackets already mean negative, so "a £(106.8)m deficit"
reads as a double negative): the words say the sign, and :func:`amount` is always the size.
Tables show £m to one decimal with negatives in brackets (:func:`money_cell`), under a header
that says "£m". Every output (reports, pages, the board pack, the workbook's cached text)
rounds with :func:`rounded`: half away from zero on the number as written to 15 significant
digits, so 0.05 is 0.1 and -0.05 is -0.1, as Excel shows them, and -0.0 is 0.0.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

_WORDS = (
    "no",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)


# --- the rounding rule --------------------------------------------------------------------


def _decimal(x: float, decimals: int) -> Decimal:
    """``x`` rounded half away from zero to ``decimals`` places (as a Decimal, never -0)."""
    exact = Decimal(f"{float(x):.15g}")  # the number as a person would write it
    q = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return q if q != 0 else abs(q)


def rounded(x: float, decimals: int = 1) -> float:
    """The kit's one rounding rule: half away from zero, -0.0 turned into 0.0."""
    return float(_decimal(x, decimals))


# --- money --------------------------------------------------------------------------------


def money_cell(x: float, decimals: int = 1) -> str:
    """A £m table cell: ``274.0``, ``1,234.5``, negatives in brackets ``(106.8)``."""
    d = _decimal(x, decimals)
    text = f"{abs(d):,.{decimals}f}"
    return f"({text})" if d < 0 else text


def amount(x: float, decimals: int = 1) -> str:
    """The size of an amount in text: ``£106.8m`` (the words around it say its sign)."""
    return f"£{abs(_decimal(x, decimals)):,.{decimals}f}m"


def outturn_phrase(x: float) -> str:
    """A position in words: ``a surplus of £274.0m``, ``a deficit of £106.8m``, ``break-even``."""
    d = _decimal(x, 1)
    if d == 0:
        return "break-even"
    return f"a {'surplus' if d > 0 else 'deficit'} of {amount(x)}"


def position_word(x: float) -> str:
    """What an amount is as a position: ``surplus``, ``deficit`` or ``break-even``."""
    d = _decimal(x, 1)
    return "break-even" if d == 0 else "surplus" if d > 0 else "deficit"


def planned_phrase(x: float) -> str:
    """A plan in words: ``a planned deficit of £67.2m`` or ``a break-even plan``."""
    d = _decimal(x, 1)
    if d == 0:
        return "a break-even plan"
    return f"a planned {'surplus' if d > 0 else 'deficit'} of {amount(x)}"


def signed_phrase(variance: float, what: str = "plan") -> str:
    """A variance in words: ``£196.0m below plan``, ``£8.7m above plan`` or ``on plan``."""
    d = _decimal(variance, 1)
    if d == 0:
        return f"on {what}"
    return f"{amount(variance)} {'above' if d > 0 else 'below'} {what}"


def movement_phrase(movement: float, since: str) -> str:
    """Movement of a forecast: ``up £2.8m since M02``, ``down £23.9m since M09``."""
    d = _decimal(movement, 1)
    if d == 0:
        return f"unchanged since {since}"
    return f"{'up' if d > 0 else 'down'} {amount(movement)} since {since}"


def effect_phrase(x: float) -> str:
    """An amount that helps or hurts: ``£4.3m adverse``, ``£1.5m favourable``, ``nil``."""
    d = _decimal(x, 1)
    if d == 0:
        return "nil"
    return f"{amount(x)} {'favourable' if d > 0 else 'adverse'}"


# --- percentages and counts ---------------------------------------------------------------


def pct(x: float, decimals: int = 1) -> str:
    """A percentage (0-100 scale) in text: ``4.6%``; negative ``-0.7%``."""
    return f"{_decimal(x, decimals):.{decimals}f}%"


def pct_cell(x: float, decimals: int = 1) -> str:
    """A percentage table cell (the header says %): ``4.6``, ``-0.7``."""
    return f"{_decimal(x, decimals):.{decimals}f}"


def count_words(n: int) -> str:
    """Small counts in words as board papers write them (``eight``); 13 and over as digits."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def plural(n: int, one: str, many: str) -> str:
    """``one`` for 1, else ``many``."""
    return one if n == 1 else many


# --- lists and names ----------------------------------------------------------------------


def join_words(items: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def short_name(name: str) -> str:
    """An organisation's name without its legal suffix, for lists in prose."""
    for suffix in (" Teaching PCT", " PCT", " Care Trust", " NHS Trust"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
