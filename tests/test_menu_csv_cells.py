"""The menu CSV's compound cells (recipe, modifierGroups): pure round trips and clear refusals."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from orm.domain.csv_cells import FieldError
from orm.domain.menu_csv_cells import (
    GroupCell,
    ModifierCell,
    format_groups,
    format_recipe,
    parse_groups,
    parse_recipe,
)

NASTY = ["Tea: green; loose", "50|50 blend", "[Special] = yes", "back\\slash", "Crème (fraîche)", "抹茶"]


def test_recipe_round_trips_even_with_awkward_names():
    recipe = tuple((name, D("0.018") * (i + 1)) for i, name in enumerate(NASTY))
    text = format_recipe(recipe)
    assert parse_recipe(text, "recipe") == recipe
    assert format_recipe((("Espresso beans", D("0.018")), ("Milk", D("0.200")))) == "Espresso beans:0.018;Milk:0.200"


def test_groups_round_trip_definitions_and_references():
    milk = GroupCell("Milk", 0, 1, (ModifierCell("Whole milk", D("0.00"), ()),
                                   ModifierCell("Oat milk", D("0.50"), (("Oat milk", D("0.2")),)),
                                   ModifierCell("Skim", D("-0.10"), ())))
    odd = GroupCell("Size (L)", 1, 2, tuple(ModifierCell(n, D("1.25"), ((n, D("1")),)) for n in NASTY))
    entries = (milk, "Extras", odd, "Syrups: 1|2")
    text = format_groups(entries)
    assert text.startswith("Milk (0-1): Whole milk = 0.00 | Oat milk = 0.50 [Oat milk:0.2] | Skim = -0.10; Extras")
    assert parse_groups(text, "modifierGroups") == entries


def test_hand_written_cells_are_read_leniently_where_it_is_unambiguous():
    groups = parse_groups(" Milk ( 0 - 2 ) :  Oat milk=0.5 ;Extras ", "modifierGroups")
    assert groups == (GroupCell("Milk", 0, 2, (ModifierCell("Oat milk", D("0.50"), ()),)), "Extras")
    assert parse_groups("Extras (0-3): Extra shot", "g") == (GroupCell("Extras", 0, 3, (ModifierCell(
        "Extra shot", D("0.00"), ()),)),)  # no price change written: none
    assert parse_groups("Free (0-1):", "g") == (GroupCell("Free", 0, 1, ()),)
    assert parse_recipe(" Milk : 0.2 ; ", "recipe") == (("Milk", D("0.200")),)


def test_decimal_commas_in_a_semicolon_file():
    assert parse_recipe("Espresso beans:0,018;Milk:0,2", "recipe", ",") == (("Espresso beans", D("0.018")),
                                                                           ("Milk", D("0.200")))
    assert parse_groups("Milk (0-1): Oat milk = 0,50 [Oat milk:0,2]", "g", ",") == (
        GroupCell("Milk", 0, 1, (ModifierCell("Oat milk", D("0.50"), (("Oat milk", D("0.2")),)),)),)
    with pytest.raises(FieldError, match="decimal comma"):
        parse_recipe("Milk:0.2", "recipe", ",")


@pytest.mark.parametrize(("cell", "words"), [
    ("Milk", "name:quantity"),
    ("Milk:", "quantity of 'Milk'"),
    ("Milk:0", "greater than 0"),
    ("Milk:0.0001", "at most 3 decimal places"),
    ("Milk:abc", "must be a number"),
    (":0.2", "without a name (inventory item)"),
    ("Milk:0.2;milk:0.1", "twice"),
    ("Milk:0.2]", "] without its ["),
])
def test_bad_recipes_say_what_is_wrong(cell, words):
    with pytest.raises(FieldError) as info:
        parse_recipe(cell, "recipe")
    assert info.value.field == "recipe" and words in info.value.message, info.value.message


@pytest.mark.parametrize(("cell", "words"), [
    ("Milk: Oat milk = 0.50", "how many to choose"),
    ("Milk (2-1): A | B", "above the maximum"),
    ("Milk (0-21): A", "at most 20"),
    ("Milk (1-1):", "no modifiers"),
    ("Milk (0-1): Oat = 0.505", "at most 2 decimal places"),
    ("Milk (0-1): Oat = 5000", "at most 1000"),
    ("Milk (0-1): Oat | oat", "modifier twice"),
    ("Milk (0-1): Oat [Oat milk:0.2", "[ without its ]"),
    ("Milk; milk", "group twice"),
    ("Milk (0-1): " + "x" * 65, "longer than 64"),
])
def test_bad_group_cells_say_what_is_wrong(cell, words):
    with pytest.raises(FieldError) as info:
        parse_groups(cell, "modifierGroups")
    assert words in info.value.message, info.value.message
