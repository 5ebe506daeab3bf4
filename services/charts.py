"""Small Pillow charts for e-mails (mail clients cannot run JavaScript charts)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFont

from orm.domain.errors import ValidationFailed
from orm.domain.money import format_money

BACKGROUND = (255, 255, 255)
BAR_COLOR = (37, 99, 235)
NEGATIVE_BAR_COLOR = (220, 38, 38)
AXIS_COLOR = (120, 120, 120)
GRID_COLOR = (225, 225, 225)
TEXT_COLOR = (30, 30, 30)
MIN_SIZE = (240, 120)
MAX_SIZE = (4000, 4000)


def _money(value: Decimal, currency: str) -> str:
    return format_money(value, currency)


def _totals(hourly: Sequence[tuple[int, Decimal]]) -> list[Decimal]:
    totals = [Decimal(0)] * 24
    for hour, amount in hourly:
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise ValidationFailed(
                "Chart hours must be 0..23", field_errors={"hourly": f"invalid hour {hour!r}"}
            )
        # int is exact; float is refused so money never passes through binary floats.
        if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
            raise ValidationFailed(
                "Chart amounts must be Decimal",
                field_errors={"hourly": f"amount for hour {hour} must be a Decimal"},
            )
        totals[hour] += Decimal(amount)
    return totals


def hour_span(totals: Sequence[Decimal]) -> range:
    """The hours the chart shows: the store's opening hours as the sales show them, i.e. the first
    to the last hour with sales, one hour either side (within 0..23); the whole day without sales."""
    busy = [hour for hour, value in enumerate(totals) if value != 0]
    if not busy:
        return range(24)
    return range(max(busy[0] - 1, 0), min(busy[-1] + 1, 23) + 1)


def hour_label(hour: int) -> str:
    """An hour as a clock reads: 7 -> "07:00"."""
    return f"{hour:02d}:00"


def hourly_sales_chart(
    hourly: Sequence[tuple[int, Decimal]],
    *,
    width: int = 640,
    height: int = 240,
    title: str = "Sales by hour",
    currency: str = "EUR",
) -> bytes:
    """PNG bar chart of revenue per hour over the opening hours (hour_span); missing hours count as zero."""
    if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
        raise ValidationFailed(
            "Invalid chart size",
            field_errors={"size": f"must be between {MIN_SIZE} and {MAX_SIZE} pixels"},
        )
    totals = _totals(hourly)
    top_value = max(max(totals), Decimal(0))
    bottom_value = min(min(totals), Decimal(0))

    img = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    line_h = _text_size(draw, "Ag0", font)[1] + 4

    max_label = _money(top_value, currency)
    min_label = _money(bottom_value, currency)
    label_w = max(_text_size(draw, t, font)[0] for t in (max_label, min_label)) + 8
    left, right = label_w, width - 8
    plot_top, plot_bottom = 2 * line_h + 4, height - line_h - 4

    draw.text((8, 4), title, fill=TEXT_COLOR, font=font)

    span = top_value - bottom_value
    plot_h = plot_bottom - plot_top

    def y_of(value: Decimal) -> int:
        if span == 0:
            return plot_bottom
        # float only for pixel geometry; the money values stay Decimal.
        return plot_bottom - round(float((value - bottom_value) / span) * plot_h)

    zero_y = y_of(Decimal(0))
    draw.line([(left, plot_top), (right, plot_top)], fill=GRID_COLOR)
    draw.text((4, plot_top - line_h // 2), max_label, fill=TEXT_COLOR, font=font)
    if bottom_value < 0:
        draw.text((4, plot_bottom - line_h // 2), min_label, fill=TEXT_COLOR, font=font)

    hours = hour_span(totals)
    slot = (right - left) / len(hours)
    gap = max(1, round(slot * 0.2))
    # Label every hour when the labels fit, otherwise every 2nd/3rd/... hour.
    step = 1
    while step < len(hours) and _text_size(draw, hour_label(23), font)[0] + 6 > slot * step:
        step += 1
    for position, hour in enumerate(hours):
        value = totals[hour]
        x0 = left + round(position * slot) + gap // 2
        x1 = left + round((position + 1) * slot) - (gap - gap // 2) - 1
        if value != 0:
            y = y_of(value)
            color = BAR_COLOR if value > 0 else NEGATIVE_BAR_COLOR
            draw.rectangle([x0, min(y, zero_y), max(x0, x1), max(y, zero_y)], fill=color)
        if position % step == 0:
            label = hour_label(hour)
            tw = _text_size(draw, label, font)[0]
            draw.text(((x0 + x1 - tw) // 2, plot_bottom + 4), label, fill=TEXT_COLOR, font=font)
    draw.line([(left, zero_y), (right, zero_y)], fill=AXIS_COLOR)
    draw.line([(left, plot_top), (left, plot_bottom)], fill=AXIS_COLOR)

    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _text_size(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont
) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return int(right - left), int(bottom - top)
