"""Board number style: one rounding rule, words for signs in text, brackets in £m tables."""

from __future__ import annotations

import pytest

from helpers import formats


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (274.0, "£274.0m"),
        (-12.9, "£12.9m"),  # the size: the words around it say deficit, below plan, adverse
        (1234.56, "£1,234.6m"),
        (0.0, "£0.0m"),
        (-0.04, "£0.0m"),
        (-0.05, "£0.1m"),
    ],
)
def test_an_amount_in_text_is_its_size(value: float, expected: str) -> None:
    assert formats.amount(value) == expected


def test_money_cells_use_brackets_for_negatives() -> None:
    assert formats.money_cell(-196.0) == "(196.0)"
    assert formats.money_cell(433.44) == "433.4"
    assert formats.money_cell(-1234.5, decimals=0) == "(1,235)"  # half away from zero
    assert formats.money_cell(-0.04) == "0.0"  # never "(0.0)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.05, 0.1),
        (-0.05, -0.1),
        (0.15, 0.2),  # Python's round() gives 0.1: the binary 0.15 is just below
        (2.675, 2.7),
        (-0.04, 0.0),
        (106.849999, 106.8),
    ],
)
def test_one_rounding_rule_half_away_from_zero(value: float, expected: float) -> None:
    assert formats.rounded(value) == expected
    assert str(formats.rounded(-0.0)) == "0.0"


def test_positions_and_plans_in_words() -> None:
    assert formats.outturn_phrase(274.0) == "a surplus of £274.0m"
    assert formats.outturn_phrase(-106.8) == "a deficit of £106.8m"
    assert formats.outturn_phrase(0.01) == "break-even"
    assert formats.planned_phrase(-67.2) == "a planned deficit of £67.2m"
    assert formats.planned_phrase(0.0) == "a break-even plan"


@pytest.mark.parametrize(
    ("variance", "expected"),
    [
        (-196.0, "£196.0m below plan"),
        (8.7, "£8.7m above plan"),
        (0.0, "on plan"),
        (0.04, "on plan"),
        (-0.1, "£0.1m below plan"),
    ],
)
def test_signed_phrase(variance: float, expected: str) -> None:
    assert formats.signed_phrase(variance) == expected


def test_movements_and_effects() -> None:
    assert formats.signed_phrase(-2.6, "target") == "£2.6m below target"
    assert formats.movement_phrase(-23.9, "M09") == "down £23.9m since M09"
    assert formats.movement_phrase(2.8, "M02") == "up £2.8m since M02"
    assert formats.movement_phrase(0.0, "M02") == "unchanged since M02"
    assert formats.effect_phrase(-4.3) == "£4.3m adverse"
    assert formats.effect_phrase(1.5) == "£1.5m favourable"


def test_text_never_shows_a_bracketed_amount() -> None:
    phrases = [
        f(x)
        for x in (-106.8, -0.05, 12.0, 0.0)
        for f in (
            formats.amount,
            formats.outturn_phrase,
            formats.planned_phrase,
            formats.signed_phrase,
            formats.effect_phrase,
        )
    ]
    assert not [p for p in phrases if "(" in p or ")" in p]


def test_percentages_counts_and_lists() -> None:
    assert formats.pct(16.9915) == "17.0%"
    assert formats.pct(-2.8129) == "-2.8%"
    assert formats.pct(-0.01) == "0.0%"
    assert formats.pct_cell(4.55) == "4.6"
    assert [formats.count_words(n) for n in (0, 8, 12, 13)] == ["no", "eight", "twelve", "13"]
    assert [formats.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
    ]
    assert formats.join_words([]) == ""
    assert formats.join_words(["a"]) == "a"
    assert formats.join_words(["a", "b", "c"]) == "a, b and c"


def test_short_names_drop_legal_suffixes() -> None:
    assert formats.short_name("Haringey Teaching PCT") == "Haringey"
    assert formats.short_name("Bexley Care Trust") == "Bexley"
    assert formats.short_name("St George's Healthcare NHS Trust") == "St George's Healthcare"
    assert formats.short_name("North Central London") == "North Central London"
