"""The menu CSV's compound cells: `recipe` and `modifierGroups` (pure text <-> values, no database).

recipe          ``Espresso beans:0.018;Milk:0.2`` - inventory item names with the
                quantity per unit sold, in the inventory item's unit.
modifierGroups  the item's shared modifier groups in order, separated by ``;``.
                An entry is a group's name (``Milk``), or its whole definition:
                ``Milk (0-1): Whole milk = 0 | Oat milk = 0.50 [Oat milk:0.2]``
                - name, (minSelect-maxSelect), then the modifiers separated by
                ``|``, each with its price change and, in brackets, what it
                consumes (a recipe as above). The export defines each group
                on the first item offering it and names it on the others; an
                import may define a group on any of its rows (the same way
                each time) and name it on the rest.

A name containing one of ``\\ ; | [ ] = :`` writes it with a backslash before it
(``Tea\\: green``). Numbers use the file's decimal mark: ``0,50`` in a file
separated by semicolons (csv_cells.locale_number).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from orm.domain.csv_cells import FieldError, locale_number, parse_decimal, parse_int
from orm.domain.schemas.menu import MAX_DELTA, MAX_QUANTITY, MAX_SELECT

SPECIAL = "\\;|[]=:"
NAME_LIMIT = 64  # modifier and group names
INVENTORY_NAME_LIMIT = 120
MAX_GROUPS = 30  # as MenuItemCreate
MAX_LINES = 50
_BOUNDS = re.compile(r"(?P<name>.*?)\s*\(\s*(?P<min>[0-9]+)\s*-\s*(?P<max>[0-9]+)\s*\)")

RecipeCell = tuple[tuple[str, Decimal], ...]  # (inventory item name, quantity)


@dataclass(frozen=True)
class ModifierCell:
    name: str
    price_delta: Decimal
    recipe: RecipeCell


@dataclass(frozen=True)
class GroupCell:
    name: str
    min_select: int
    max_select: int
    modifiers: tuple[ModifierCell, ...]


GroupEntry = str | GroupCell  # a reference by name, or a definition


# ---- writing ----------------------------------------------------------------------------------------------

def escape(name: str) -> str:
    return "".join("\\" + ch if ch in SPECIAL else ch for ch in name)


def _number(value: Decimal) -> str:
    return format(value.copy_abs() if value.is_zero() else value, "f")


def format_recipe(lines: Sequence[tuple[str, Decimal]]) -> str:
    return ";".join(f"{escape(name)}:{_number(qty)}" for name, qty in lines)


def format_groups(entries: Sequence[GroupEntry]) -> str:
    out = []
    for entry in entries:
        if isinstance(entry, str):
            out.append(escape(entry))
            continue
        modifiers = " | ".join(
            f"{escape(m.name)} = {_number(m.price_delta)}" + (f" [{format_recipe(m.recipe)}]" if m.recipe else "")
            for m in entry.modifiers)
        out.append(f"{escape(entry.name)} ({entry.min_select}-{entry.max_select}): {modifiers}".rstrip())
    return "; ".join(out)


# ---- reading ----------------------------------------------------------------------------------------------

def _split(text: str, separator: str, field: str) -> list[str]:
    """Split on `separator` outside [brackets] and not after a backslash; pieces keep their escapes."""
    pieces, current, depth, i = [], [], 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            current.append(text[i:i + 2])
            i += 2
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise FieldError(field, "has a ] without its [")
        if ch == separator and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if depth:
        raise FieldError(field, "has a [ without its ]")
    pieces.append("".join(current))
    return [p.strip() for p in pieces]


def _last(text: str, separator: str) -> int:
    """Index of the last `separator` outside brackets and escapes, or -1."""
    found, depth, i = -1, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        depth += (ch == "[") - (ch == "]")
        if ch == separator and depth == 0:
            found = i
        i += 1
    return found


def _first(text: str, separator: str) -> int:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == separator:
            return i
        i += 1
    return -1


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text.strip(), flags=re.DOTALL).strip()


def _name(raw: str, field: str, what: str, limit: int) -> str:
    name = unescape(raw)
    if not name:
        raise FieldError(field, f"has an entry without a name ({what})")
    if len(name) > limit:
        raise FieldError(field, f"{what} name {name[:20]!r}... is longer than {limit} characters")
    return name


def _decimal(text: str, field: str, decimal: str, what: str, **bounds: object) -> Decimal:
    try:
        return parse_decimal(locale_number(text, field, decimal), field, **bounds)  # type: ignore[arg-type]
    except FieldError as exc:
        raise FieldError(field, f"{what}: {exc.message}") from None


def parse_recipe(text: str, field: str, decimal: str = ".") -> RecipeCell:
    """``Name:qty;Name:qty`` -> ((name, quantity), ...); names unique (casefold) within the recipe."""
    if not text.strip():
        return ()
    lines: list[tuple[str, Decimal]] = []
    for entry in _split(text, ";", field):
        if not entry:
            continue
        colon = _last(entry, ":")
        if colon < 0:
            raise FieldError(field, f"entry {unescape(entry)!r} must be written name:quantity")
        name = _name(entry[:colon], field, "inventory item", INVENTORY_NAME_LIMIT)
        quantity = _decimal(entry[colon + 1:], field, decimal, f"quantity of {name!r}", places=3,
                            min_value=Decimal(0), exclusive_min=True, max_value=MAX_QUANTITY)
        if any(n.casefold() == name.casefold() for n, _ in lines):
            raise FieldError(field, f"lists {name!r} twice")
        lines.append((name, quantity))
    if len(lines) > MAX_LINES:
        raise FieldError(field, f"may list at most {MAX_LINES} ingredients")
    return tuple(lines)


def _modifier(entry: str, field: str, decimal: str) -> ModifierCell:
    recipe: RecipeCell = ()
    if entry.endswith("]") and not entry.endswith("\\]"):
        start = _last_open(entry)
        recipe = parse_recipe(entry[start + 1:-1], field, decimal)
        entry = entry[:start].rstrip()
    equals = _last(entry, "=")
    delta = Decimal("0.00")
    if equals >= 0:
        delta = _decimal(entry[equals + 1:], field, decimal, f"price of {unescape(entry[:equals])!r}", places=2,
                         min_value=-MAX_DELTA, max_value=MAX_DELTA)
        entry = entry[:equals]
    return ModifierCell(_name(entry, field, "modifier", NAME_LIMIT), delta, recipe)


def _last_open(entry: str) -> int:
    depth, i, opened = 0, 0, -1
    while i < len(entry):
        if entry[i] == "\\":
            i += 2
            continue
        if entry[i] == "[":
            if depth == 0:
                opened = i
            depth += 1
        elif entry[i] == "]":
            depth -= 1
        i += 1
    return opened


def _group(entry: str, field: str, decimal: str) -> GroupEntry:
    colon = _first(entry, ":")
    if colon < 0:
        return _name(entry, field, "modifier group", NAME_LIMIT)
    head = _BOUNDS.fullmatch(entry[:colon].strip())
    if head is None:
        raise FieldError(field, f"group {unescape(entry[:colon])!r} must say how many to choose, "
                                f"e.g. Milk (0-1): Whole milk = 0 | Oat milk = 0.50")
    name = _name(head["name"], field, "modifier group", NAME_LIMIT)
    low = parse_int(head["min"], field, min_value=0, max_value=MAX_SELECT)
    high = parse_int(head["max"], field, min_value=1, max_value=MAX_SELECT)
    if low > high:
        raise FieldError(field, f"group {name!r}: the minimum ({low}) is above the maximum ({high})")
    body = entry[colon + 1:].strip()
    modifiers = tuple(_modifier(m, field, decimal) for m in _split(body, "|", field) if m) if body else ()
    names = [m.name.casefold() for m in modifiers]
    if len(names) != len(set(names)):
        raise FieldError(field, f"group {name!r} lists a modifier twice")
    if len(modifiers) > MAX_LINES:
        raise FieldError(field, f"group {name!r} may have at most {MAX_LINES} modifiers")
    if low > 0 and not modifiers:
        raise FieldError(field, f"group {name!r} must choose at least {low} but has no modifiers")
    return GroupCell(name, low, high, modifiers)


def parse_groups(text: str, field: str, decimal: str = ".") -> tuple[GroupEntry, ...]:
    """The cell -> group names (references) and GroupCells (definitions), in order, each group once."""
    if not text.strip():
        return ()
    entries = tuple(_group(e, field, decimal) for e in _split(text, ";", field) if e)
    names = [(e if isinstance(e, str) else e.name).casefold() for e in entries]
    if len(names) != len(set(names)):
        raise FieldError(field, "lists a modifier group twice")
    if len(entries) > MAX_GROUPS:
        raise FieldError(field, f"may list at most {MAX_GROUPS} modifier groups")
    return entries


def group_name(entry: GroupEntry) -> str:
    return entry if isinstance(entry, str) else entry.name
