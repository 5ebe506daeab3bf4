"""hourly_sales_chart renders real PNGs that reflect the data."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image

from orm.controllers.errors import ValidationFailed
from services.charts import BAR_COLOR, hourly_sales_chart


def _open(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    img.load()
    return img.convert("RGB")


def _bar_columns(img: Image.Image) -> dict[int, int]:
    """x -> number of bar-coloured pixels in that column (only columns with any)."""
    px = img.load()
    counts: dict[int, int] = {}
    for x in range(img.width):
        n = sum(1 for y in range(img.height) if px[x, y] == BAR_COLOR)
        if n:
            counts[x] = n
    return counts


def _groups(columns: dict[int, int]) -> list[list[int]]:
    """Runs of adjacent x positions = one bar each."""
    groups: list[list[int]] = []
    for x in sorted(columns):
        if groups and x == groups[-1][-1] + 1:
            groups[-1].append(x)
        else:
            groups.append([x])
    return groups


def test_png_decodes_with_requested_size():
    png = hourly_sales_chart([(9, Decimal("12.50"))], width=500, height=200)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    assert img.size == (500, 200)


def test_default_size():
    assert _open(hourly_sales_chart([])).size == (640, 240)


def test_all_zero_renders_without_bars():
    for data in ([], [(h, Decimal("0.00")) for h in range(24)]):
        img = _open(hourly_sales_chart(data))
        assert img.size == (640, 240)
        assert _bar_columns(img) == {}
        # Not blank: title, axis and labels are drawn.
        assert len(img.getcolors(maxcolors=1 << 16)) > 1


def test_bar_heights_follow_the_data():
    img = _open(hourly_sales_chart([(3, Decimal("100.00")), (12, Decimal("50.00"))]))
    groups = _groups(_bar_columns(img))
    assert len(groups) == 2
    cols = _bar_columns(img)
    left_h = max(cols[x] for x in groups[0])
    right_h = max(cols[x] for x in groups[1])
    assert groups[0][0] < groups[1][0]
    # Hour 3 has twice the revenue of hour 12; allow for pixel rounding.
    assert abs(left_h - 2 * right_h) <= 2


def test_different_data_gives_different_pixel_columns():
    a = _bar_columns(_open(hourly_sales_chart([(8, Decimal(10))])))
    b = _bar_columns(_open(hourly_sales_chart([(17, Decimal(10))])))
    assert a and b
    assert set(a).isdisjoint(b)
    assert min(a) < min(b)


def test_duplicate_hours_are_summed():
    summed = hourly_sales_chart([(10, Decimal(5)), (10, Decimal(5)), (11, Decimal(10))])
    cols = _bar_columns(_open(summed))
    groups = _groups(cols)
    assert len(groups) == 2
    assert max(cols[x] for x in groups[0]) == max(cols[x] for x in groups[1])


def test_float_amounts_and_bad_hours_are_refused():
    with pytest.raises(ValidationFailed):
        hourly_sales_chart([(10, 12.5)])  # type: ignore[list-item]
    with pytest.raises(ValidationFailed):
        hourly_sales_chart([(24, Decimal(1))])
    with pytest.raises(ValidationFailed):
        hourly_sales_chart([], width=10, height=10)


def test_negative_hour_renders():
    img = _open(hourly_sales_chart([(9, Decimal("-20.00")), (10, Decimal("40.00"))]))
    assert img.size == (640, 240)
    assert _bar_columns(img)
