from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import pytest

from orm.domain.csv_cells import FieldError, RowErrors, parse_bool, parse_decimal, parse_int
from orm.domain.csv_dialect import UTF8_BOM
from orm.domain.csv_io import CsvRow, find_duplicates, read_csv, rows_from_json
from orm.domain.csv_write import write_csv
from orm.domain.errors import ValidationFailed

MENU_COLUMNS = (
    "name",
    "category",
    "size",
    "price",
    "description",
    "isActive",
    "sku",
    "barcode",
    "taxRate",
)
REQUIRED = ("name", "price")


def read_menu(data, **kw):
    return read_csv(data, columns=MENU_COLUMNS, required=REQUIRED, **kw)


def failure(data, **kw) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        read_menu(data, **kw)
    return info.value


def only_error(exc: ValidationFailed) -> dict:
    assert (
        exc.data["created"] == 0
        and exc.data["updated"] == 0
        and exc.data["skipped"] == 0
    )
    assert len(exc.data["rowErrors"]) == 1, exc.data["rowErrors"]
    assert len(exc.errors) == 1
    return exc.data["rowErrors"][0]


# --- encodings and line endings ---------------------------------------------


def test_bom_and_no_bom_give_the_same_rows():
    body = "name,price\r\nLatte,3.50\r\nCafé crème,4.00\r\n".encode()
    plain = read_menu(body)
    with_bom = read_menu(UTF8_BOM + body)
    assert plain == with_bom
    assert [r.values for r in plain] == [
        {"name": "Latte", "price": "3.50"},
        {"name": "Café crème", "price": "4.00"},
    ]
    assert [r.line for r in plain] == [2, 3]


def test_str_input_with_bom_is_accepted():
    rows = read_menu("\ufeffname,price\nLatte,3.50\n")
    assert rows == [CsvRow(2, {"name": "Latte", "price": "3.50"})]


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r"])
def test_line_endings_all_count_one_line(eol):
    text = eol.join(["name,price", "Latte,3.50", "", "Mocha,4.00"]) + eol
    rows = read_menu(text.encode())
    assert [(r.line, r.values["name"]) for r in rows] == [(2, "Latte"), (4, "Mocha")]


def test_quoted_newlines_keep_following_line_numbers_right():
    text = (
        "name,price,description\r\n"
        'Latte,3.50,"Steamed milk\r\nand espresso\r\nover two lines"\r\n'
        "Mocha,4.00,plain\r\n"
        'Tea,2.00,"one\nmore"\n'
        "Water,1.00,\n"
    )
    rows = read_menu(text.encode())
    assert [(r.line, r.values["name"]) for r in rows] == [
        (2, "Latte"),
        (5, "Mocha"),
        (6, "Tea"),
        (8, "Water"),
    ]
    assert (
        rows[0].values["description"]
        == "Steamed milk\r\nand espresso\r\nover two lines"
    )


def test_latin1_bytes_are_refused_with_the_line():
    data = "name,price\nLatte,3.50\nCafé,2.00\n".encode("latin-1")
    err = only_error(failure(data))
    assert err["row"] == 3
    assert "UTF-8" in err["message"]


def test_utf16_and_workbooks_are_refused_clearly():
    err = only_error(failure("name,price\n".encode("utf-16")))
    assert err["row"] == 1 and "UTF-16" in err["message"]
    err = only_error(failure(b"PK\x03\x04\x14\x00\x06\x00binary"))
    assert "CSV UTF-8" in err["message"]


def test_nul_character_is_refused_with_its_line():
    err = only_error(failure(b"name,price\nLatte,3.50\nMo\x00cha,4.00\n"))
    assert err["row"] == 3 and "NUL" in err["message"]


@pytest.mark.parametrize("data", [b"", UTF8_BOM, b"\r\n\n  \n", b",,,\n,,\n", ""])
def test_empty_files(data):
    err = only_error(failure(data))
    assert err == {"row": 1, "field": None, "message": "the file is empty"}


def test_header_only_file_has_no_rows():
    assert read_menu(b"name,price\r\n") == []


# --- header -----------------------------------------------------------------


def test_header_case_spacing_and_aliases():
    text = " NAME , Price ,tax_rate,Is Active,cat\nLatte,3.50,0.08,yes,Coffee\n"
    rows = read_menu(text, aliases={"cat": "category"})
    assert rows[0].values == {
        "name": "Latte",
        "price": "3.50",
        "taxRate": "0.08",
        "isActive": "yes",
        "category": "Coffee",
    }


def test_unknown_column_is_reported_on_the_header_line():
    exc = failure("name,price,colour,flavour\nLatte,3.50,brown,nutty\n")
    assert [(e["row"], e["field"]) for e in exc.data["rowErrors"]] == [
        (1, "colour"),
        (1, "flavour"),
    ]
    assert exc.errors[0].startswith("line 1: colour: unknown column")
    assert len(exc.errors) == 2


def test_missing_required_column():
    err = only_error(failure("name,category\nLatte,Coffee\n"))
    assert err == {"row": 1, "field": "price", "message": "required column is missing"}


@pytest.mark.parametrize("header", ["name,price,Name", "name,price,taxRate,tax_rate"])
def test_duplicate_columns(header):
    err = only_error(failure(header + "\nLatte,3.50,x\n"))
    assert err["row"] == 1 and err["message"] == "duplicate column"
    assert err["field"] in ("name", "taxRate")


def test_data_instead_of_header():
    err = only_error(failure("Latte,3.50\nMocha,4.00\n"))
    assert err["row"] == 1 and "header" in err["message"]


def test_tab_separated_file_gets_a_hint():
    err = only_error(failure("name\tprice\nLatte\t3.50\n"))
    assert "commas" in err["message"] and "tabs" in err["message"]


# --- a spreadsheet's locale: semicolons and decimal commas ------------------


@pytest.mark.parametrize("bom", [b"", UTF8_BOM])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_german_or_french_spreadsheet_is_read_with_decimal_commas(bom, newline):
    text = newline.join([
        "Name;Category;Price;Description;Tax Rate",
        'Latte;Coffee;3,50;"Milk; foam, and love";0,081',
        "Grand café;Coffee;1.234,50;;",
        "Thé vert;Tea;1 234,5;;0,026",
        "Petit;Tea;\u202f,5;;",
        "Eau;Drinks;12;;0",
        "",
    ])
    rows = read_menu(bom + text.encode(), numeric=("price", "taxRate"))
    assert [(r.values["name"], r.values["price"], r.values.get("taxRate")) for r in rows] == [
        ("Latte", "3.50", "0.081"), ("Grand café", "1234.50", ""), ("Thé vert", "1234.5", "0.026"),
        ("Petit", "0.5", ""), ("Eau", "12", "0")]
    assert rows[0].values["description"] == "Milk; foam, and love"
    assert all(r.decimal == "," for r in rows)
    # The canonical text then goes through the same strict parser as any file.
    assert parse_decimal(rows[1].values["price"], "price", places=2) == Decimal("1234.50")


def test_the_header_decides_the_dialect():
    # A comma file may carry semicolons in quoted text, and a semicolon file commas.
    comma = read_menu('name,price,description\nLatte,3.50,"a;b;c"\n', numeric=("price",))
    assert comma[0].values == {"name": "Latte", "price": "3.50", "description": "a;b;c"} and comma[0].decimal == "."
    semi = read_menu('name;price;description\nLatte;3,5;"x, y"\n', numeric=("price",))
    assert semi[0].values == {"name": "Latte", "price": "3.5", "description": "x, y"} and semi[0].decimal == ","
    # In a comma file a decimal comma is still refused rather than guessed (3.50 or 350?).
    rows = read_menu('name,price\nLatte,"3,50"\n', numeric=("price",))
    with pytest.raises(FieldError, match="dot for decimals"):
        parse_decimal(rows[0].values["price"], "price", places=2)


@pytest.mark.parametrize(("cell", "words"), [
    ("3.50", "write 3,50"),            # a decimal dot in a decimal-comma file
    ("0.018", "write 0,018"),
    ("1.500", "ambiguous"),            # 1500 to a German, 1.5 to everybody else
    ("1.5,0", "decimal comma"),
    ("3,5,0", "decimal comma"),
])
def test_decimal_comma_files_refuse_what_they_cannot_mean(cell, words):
    exc = failure(f"name;price\nLatte;{cell}\n", numeric=("price",))
    err = only_error(exc)
    assert err["row"] == 2 and err["field"] == "price" and words in err["message"], err


def test_locale_rule_reaches_every_import_row_error_at_once():
    exc = failure("name;price;taxRate\nLatte;3.50;0,08\nMocha;4,00;0.08\n", numeric=("price", "taxRate"))
    assert [(e["row"], e["field"]) for e in exc.data["rowErrors"]] == [(2, "price"), (3, "taxRate")]


def test_leading_blank_lines_keep_physical_line_numbers():
    rows = read_menu("\n\nname,price\nLatte,3.50\n")
    assert rows[0].line == 4


# --- records ------------------------------------------------------------------


def test_unterminated_quote_reports_the_line_where_the_record_starts():
    exc = failure('name,price\nLatte,3.50\n"Mocha,4.00\nTea,2.00\n')
    err = only_error(exc)
    assert err["row"] == 3 and "never closed" in err["message"]
    assert exc.errors == ["line 3: " + err["message"]]


def test_text_after_a_closing_quote_is_malformed():
    err = only_error(failure('name,price\nLatte,3.50\n"Mo"cha,4.00\n'))
    assert err["row"] == 3 and "malformed CSV" in err["message"]


def test_quote_inside_value_and_space_before_quote():
    rows = read_menu('name,price,description\n"The ""Big"" one", 3.50, "milk, foam"\n')
    assert rows[0].values == {
        "name": 'The "Big" one',
        "price": "3.50",
        "description": "milk, foam",
    }


def test_extra_fields_are_an_error_on_that_line():
    exc = failure("name,price\nLatte,3.50\nMocha,4.00,oops\nTea,2.00,,\n")
    err = only_error(exc)
    assert err["row"] == 3 and err["field"] is None
    assert "3 values" in err["message"]


def test_blank_and_comma_only_lines_are_skipped():
    rows = read_menu("name,price\n\nLatte,3.50\n,\n   \nMocha,4.00\n,,\n")
    assert [(r.line, r.values["name"]) for r in rows] == [(3, "Latte"), (6, "Mocha")]


def test_short_rows_are_padded_and_empty_required_values_reported():
    rows = read_menu("name,price,sku\nLatte,3.50\n")
    assert rows[0].values == {"name": "Latte", "price": "3.50", "sku": ""}
    exc = failure("name,price,sku\nLatte\n,2.00,X1\n")
    assert exc.data["rowErrors"] == [
        {"row": 2, "field": "price", "message": "is required"},
        {"row": 3, "field": "name", "message": "is required"},
    ]
    assert exc.errors == ["line 2: price: is required", "line 3: name: is required"]


def test_trailing_unnamed_columns_are_tolerated_but_must_stay_empty():
    rows = read_menu("name,price,,\nLatte,3.50,,\n")
    assert rows[0].values == {"name": "Latte", "price": "3.50"}
    err = only_error(failure("name,price,,\nLatte,3.50,,x\n"))
    assert err["row"] == 2 and "no header" in err["message"]


def test_row_errors_can_be_collected_with_the_callers_own_checks():
    errors = RowErrors()
    rows = read_menu("name,price\nLatte,3.50,extra\nMocha,abc\n", errors=errors)
    assert [r.line for r in rows] == [3]  # the broken line is left out
    for row in rows:
        try:
            parse_decimal(row.values["price"], "price", places=2)
        except FieldError as exc:
            errors.add(row.line, exc.field, exc.message)
    assert [(e["row"], e["field"]) for e in errors.as_list()] == [
        (2, None),
        (3, "price"),
    ]
    with pytest.raises(ValidationFailed) as info:
        errors.raise_if_any(skipped=0)
    assert len(info.value.errors) == 2
    assert info.value.message == info.value.errors[0]


def test_file_level_problems_raise_even_when_collecting():
    with pytest.raises(ValidationFailed):
        read_menu("name,colour\n", errors=RowErrors())


def test_too_many_rows():
    text = "name,price\n" + "".join(f"Item {i},1.00\n" for i in range(4))
    assert len(read_menu(text, max_rows=4)) == 4
    err = only_error(failure(text + "One more,1.00\n", max_rows=4))
    assert err["row"] == 6 and "too many rows" in err["message"]


def test_thousand_row_file_parses():
    lines = ["name,category,size,price,description,isActive,sku,barcode,taxRate"]
    lines += [
        f'Item {i},Food,M,{i}.25,"desc, {i}",true,SKU{i},{i:013d},0.08'
        for i in range(1000)
    ]
    data = UTF8_BOM + "\r\n".join(lines).encode()
    rows = read_menu(data)
    assert len(rows) == 1000
    assert rows[-1] == CsvRow(
        1001,
        {
            "name": "Item 999",
            "category": "Food",
            "size": "M",
            "price": "999.25",
            "description": "desc, 999",
            "isActive": "true",
            "sku": "SKU999",
            "barcode": "0000000000999",
            "taxRate": "0.08",
        },
    )


def test_caller_mistakes_are_value_errors():
    with pytest.raises(ValueError):
        read_csv("a\n", columns=("a",), required=("b",))
    with pytest.raises(ValueError):
        read_csv("a\n", columns=("a",), aliases={"x": "b"})
    with pytest.raises(ValueError):
        read_csv("a\n", columns=("taxRate", "tax_rate"))


# --- JSON rows ----------------------------------------------------------------


def test_json_rows_happy_path():
    rows = rows_from_json(
        [
            {
                "name": " Latte ",
                "price": "3.50",
                "isActive": True,
                "taxRate": Decimal("8E-2"),
            },
            {"Name": "Mocha", "price": 4, "description": None, "tax_rate": 0.1},
        ],
        columns=MENU_COLUMNS,
        required=REQUIRED,
    )
    assert rows == [
        CsvRow(
            2, {"name": "Latte", "price": "3.50", "isActive": "true", "taxRate": "0.08"}
        ),
        CsvRow(3, {"name": "Mocha", "price": "4", "description": "", "taxRate": "0.1"}),
    ]


def test_json_row_problems_are_row_errors_numbered_like_a_file():
    with pytest.raises(ValidationFailed) as info:
        rows_from_json(
            [
                {"name": "Latte", "price": "3.50"},
                "Mocha,4.00",
                {"name": "Tea", "price": "2", "colour": "green"},
                {"name": "Juice"},
                {"name": "Cake", "price": {"amount": 3}},
                {"name": "Bun", "price": "1", "taxRate": "0.1", "tax_rate": "0.2"},
            ],
            columns=MENU_COLUMNS,
            required=REQUIRED,
        )
    assert info.value.data["rowErrors"] == [
        {"row": 3, "field": None, "message": "must be an object"},
        {"row": 4, "field": "colour", "message": "unknown field"},
        {"row": 5, "field": "price", "message": "is required"},
        {"row": 6, "field": "price", "message": "must be text, a number or true/false"},
        {"row": 6, "field": "price", "message": "is required"},
        {"row": 7, "field": "taxRate", "message": "given twice"},
    ]


def test_json_rows_must_be_a_list_and_not_too_many():
    with pytest.raises(ValidationFailed) as info:
        rows_from_json({"name": "Latte"}, columns=MENU_COLUMNS)
    assert info.value.data["rowErrors"][0]["field"] == "rows"
    with pytest.raises(ValidationFailed):
        rows_from_json([{"name": "x"}] * 3, columns=MENU_COLUMNS, max_rows=2)


# --- duplicates ---------------------------------------------------------------


def test_find_duplicates_flags_second_and_later_occurrences():
    rows = read_menu(
        "name,size,price,sku\n"
        "Latte,M,3.50,A\n"
        "latte ,m,3.60,\n"
        "Latte,L,4.00,\n"
        "LATTE,M,3.70,A\n"
    )
    dupes = find_duplicates(
        rows,
        lambda r: (r.values["name"].casefold(), r.values["size"].casefold()),
        field="name",
    )
    assert dupes.as_list() == [
        {"row": 3, "field": "name", "message": "duplicate of line 2"},
        {"row": 5, "field": "name", "message": "duplicate of line 2"},
    ]
    by_sku = find_duplicates(rows, lambda r: r.values["sku"] or None, field="sku")
    assert by_sku.messages() == ["line 5: sku: duplicate of line 2"]


# --- numbers and booleans ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.50", Decimal("3.50")),
        ("  2.5 ", Decimal("2.50")),
        ("-0", Decimal("0.00")),
        ("-0.00", Decimal("0.00")),
        ("+4", Decimal("4.00")),
        (".5", Decimal("0.50")),
        ("2.500", Decimal("2.50")),
        ("1000000", Decimal("1000000.00")),
    ],
)
def test_parse_decimal_accepts(text, expected):
    value = parse_decimal(text, "price", places=2)
    assert value == expected
    assert str(value) == str(expected)  # same exponent, and no negative zero


def test_parse_decimal_minus_zero_has_no_sign():
    assert not parse_decimal("-0", "price", places=2).is_signed()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is required"),
        ("   ", "is required"),
        ("abc", "must be a number"),
        ("$3.50", "must be a number"),
        ("3.50€", "must be a number"),
        ("3,50", "dot for decimals"),
        ("1,234.50", "dot for decimals"),
        ("1e3", "without an exponent"),
        ("1E-2", "without an exponent"),
        ("NaN", "finite"),
        ("-Infinity", "finite"),
        ("inf", "finite"),
        ("2.505", "at most 2 decimal places"),
        ("٣", "must be a number"),
        ("1" * 30, "too long"),
        ("--1", "must be a number"),
        ("1.2.3", "must be a number"),
    ],
)
def test_parse_decimal_refuses(text, fragment):
    with pytest.raises(FieldError) as info:
        parse_decimal(text, "price", places=2)
    assert info.value.field == "price"
    assert fragment in info.value.message


def test_parse_decimal_bounds():
    zero, cap = Decimal(0), Decimal("9999.99")
    with pytest.raises(FieldError) as info:
        parse_decimal("0", "price", places=2, min_value=zero, exclusive_min=True)
    assert info.value.message == "must be greater than 0"
    assert str(info.value) == "price: must be greater than 0"
    assert parse_decimal(
        "0.01", "price", places=2, min_value=zero, exclusive_min=True
    ) == Decimal("0.01")
    assert parse_decimal("0", "qty", places=3, min_value=zero) == Decimal("0.000")
    with pytest.raises(FieldError, match="must be at least 0"):
        parse_decimal("-0.01", "qty", places=3, min_value=zero)
    assert parse_decimal("9999.99", "price", places=2, max_value=cap) == cap
    with pytest.raises(FieldError, match="must be at most 9999.99"):
        parse_decimal("10000", "price", places=2, max_value=cap)
    with pytest.raises(FieldError, match="at most 0 decimal places"):
        parse_decimal("1.5", "count", places=0)


def test_parse_decimal_too_large_for_places():
    with pytest.raises(FieldError, match="too large"):
        parse_decimal("9" * 24, "price", places=10)


def test_parse_int():
    assert parse_int(" 42 ", "qty") == 42
    assert parse_int("-0", "qty") == 0
    assert parse_int("+7", "qty", min_value=0, max_value=7) == 7
    for bad in ("3.0", "1e3", "x", "", "9" * 30, "1 000"):
        with pytest.raises(FieldError):
            parse_int(bad, "qty")
    with pytest.raises(FieldError, match="at least 1"):
        parse_int("0", "qty", min_value=1)
    with pytest.raises(FieldError, match="at most 5"):
        parse_int("6", "qty", max_value=5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" Yes ", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("0", False),
        ("", None),
        ("  ", None),
    ],
)
def test_parse_bool(text, expected):
    assert parse_bool(text, "isActive") is expected


@pytest.mark.parametrize("text", ["y", "2", "on", "truee"])
def test_parse_bool_refuses(text):
    with pytest.raises(FieldError, match="must be true or false"):
        parse_bool(text, "isActive")


# --- RowErrors ----------------------------------------------------------------------


def test_row_errors_sorted_by_line_and_formatted():
    errors = RowErrors()
    assert not errors
    errors.add(7, "price", "must be greater than 0")
    errors.add(3, None, "has 4 values but the header has 2 columns")
    errors.add(3, "name", "is required")
    assert errors and len(errors) == 3
    assert errors.messages() == [
        "line 3: has 4 values but the header has 2 columns",
        "line 3: name: is required",
        "line 7: price: must be greater than 0",
    ]
    assert [e["row"] for e in errors.as_list()] == [3, 3, 7]
    assert errors.summary(created=1) == {
        "created": 1,
        "updated": 0,
        "skipped": 0,
        "rowErrors": errors.as_list(),
    }
    with pytest.raises(ValidationFailed) as info:
        errors.raise_if_any(updated=2)
    assert info.value.errors == errors.messages()
    assert info.value.data == errors.summary(updated=2)
    assert info.value.error_code == "VALIDATION_ERROR"
    RowErrors().raise_if_any()  # nothing to report: no exception


# --- writing --------------------------------------------------------------------------


class Unit(Enum):
    GRAM = "g"


COLUMNS = ("name", "quantity", "cost", "active", "unit", "note", "updatedAt")


def test_write_csv_bytes_layout():
    data = write_csv(
        COLUMNS,
        [
            {
                "name": 'Beans, "house"',
                "quantity": Decimal("1E+1"),
                "cost": Decimal("-3.5"),
                "active": True,
                "unit": Unit.GRAM,
                "note": "two\nlines",
                "updatedAt": datetime(2024, 5, 1, 8, 30),
            },
            {"name": "Milk", "quantity": 0, "cost": Decimal("-0.00"), "active": False},
        ],
    )
    assert data.startswith(UTF8_BOM)
    text = data[len(UTF8_BOM) :].decode("utf-8")
    assert text == (
        "name,quantity,cost,active,unit,note,updatedAt\r\n"
        '"Beans, ""house""",10,-3.5,true,g,"two\nlines",2024-05-01T08:30:00\r\n'
        "Milk,0,0.00,false,,,\r\n"
    )


def test_write_csv_guards_formulas_in_text_but_not_numbers():
    data = write_csv(
        ("name", "note", "cost", "count"),
        [
            {
                "name": '=HYPERLINK("http://x")',
                "note": "+1",
                "cost": Decimal(-2),
                "count": -5,
            },
            {"name": "@SUM(A1)", "note": "-3.5", "cost": None, "count": None},
            {"name": "\tTab", "note": "ok", "cost": Decimal(1), "count": 1},
        ],
    )
    lines = data[len(UTF8_BOM) :].decode().split("\r\n")
    assert lines[1] == '"\'=HYPERLINK(""http://x"")",\'+1,-2,-5'
    assert lines[2] == "'@SUM(A1),'-3.5,,"
    assert lines[3] == "'\tTab,ok,1,1"


def test_write_then_read_round_trip():
    source = [
        {
            "name": "Café crème",
            "quantity": Decimal("12.500"),
            "cost": Decimal("-1.25"),
            "active": True,
            "unit": "g",
            "note": 'multi\r\nline, with "quotes"',
            "updatedAt": date(2024, 1, 31),
        },
        {
            "name": "=cmd|' /C calc'!A0",
            "quantity": Decimal(0),
            "note": "-minus",
            "active": None,
        },
        {"name": "Plain", "quantity": 3, "note": "@home", "cost": Decimal("5E-2")},
    ]
    rows = read_csv(write_csv(COLUMNS, source), columns=COLUMNS)
    assert [r.line for r in rows] == [2, 4, 5]
    assert [r.values for r in rows] == [
        {
            "name": "Café crème",
            "quantity": "12.500",
            "cost": "-1.25",
            "active": "true",
            "unit": "g",
            "note": 'multi\r\nline, with "quotes"',
            "updatedAt": "2024-01-31",
        },
        {
            "name": "=cmd|' /C calc'!A0",
            "quantity": "0",
            "cost": "",
            "active": "",
            "unit": "",
            "note": "-minus",
            "updatedAt": "",
        },
        {
            "name": "Plain",
            "quantity": "3",
            "cost": "0.05",
            "active": "",
            "unit": "",
            "note": "@home",
            "updatedAt": "",
        },
    ]


def test_write_csv_refuses_floats_and_non_finite_decimals():
    with pytest.raises(TypeError):
        write_csv(("cost",), [{"cost": 1.5}])
    with pytest.raises(ValueError):
        write_csv(("cost",), [{"cost": Decimal("NaN")}])


def test_write_csv_with_no_rows_is_just_the_header():
    assert write_csv(("a", "b"), []) == UTF8_BOM + b"a,b\r\n"
