"""hourly_sales_chart renders real PNGs that reflect the data."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image

from orm.domain.errors import ValidationFailed
from services.charts import BAR_COLOR, hour_label, hour_span, hourly_sales_chart


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
    a = _bar_columns(_open(hourly_sales_chart([(8, Decimal(10)), (17, Decimal(1))])))
    b = _bar_columns(_open(hourly_sales_chart([(8, Decimal(1)), (17, Decimal(10))])))
    left_a, right_a = _groups(a)
    left_b, right_b = _groups(b)
    assert left_a == left_b and right_a == right_b  # same hours, same places
    assert max(a[x] for x in left_a) > max(a[x] for x in right_a)
    assert max(b[x] for x in left_b) < max(b[x] for x in right_b)


def test_the_hour_axis_covers_the_opening_hours():
    day = [Decimal(0)] * 24
    assert hour_span(day) == range(24)  # no sales: the whole day
    day[7], day[18] = Decimal("3.50"), Decimal("-2.00")  # a refund is business too
    assert hour_span(day) == range(6, 20)  # first and last sale hour, one hour either side
    day[0], day[23] = Decimal(1), Decimal(1)
    assert hour_span(day) == range(0, 24)  # never beyond the day
    assert [hour_label(h) for h in (0, 7, 23)] == ["00:00", "07:00", "23:00"]


def test_a_day_of_opening_hours_gets_wide_bars():
    day = _groups(_bar_columns(_open(hourly_sales_chart([(7, Decimal(5)), (8, Decimal(5))]))))
    spread = _groups(_bar_columns(_open(hourly_sales_chart([(0, Decimal(5)), (23, Decimal(5))]))))
    # 07:00-08:00 alone spans 4 hours of axis (06..09), midnight to 23:00 all 24.
    assert len(day[0]) > 4 * len(spread[0])


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
