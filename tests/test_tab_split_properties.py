"""Splitting a tab n ways (orm/domain/tab_split.py, tab_checkout.plan_share): exact cents, by property."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orm.domain.money import to_cents
from orm.domain.schemas.orders import PaymentIn
from orm.domain.tab_checkout import TabLine, plan_share
from orm.domain.tab_split import OpenLine, line_money, price_open_lines, share_parts, split_equal

RATES = [Decimal("0"), Decimal("0.026"), Decimal("0.08"), Decimal("0.081"), Decimal("0.19")]


@given(total=st.integers(min_value=0, max_value=10**9), ways=st.integers(min_value=2, max_value=20))
def test_equal_shares_add_up_and_only_the_last_differs(total: int, ways: int) -> None:
    shares = split_equal(total, ways)
    assert len(shares) == ways and sum(shares) == total
    assert len(set(shares[:-1])) <= 1 and 0 <= shares[-1] - shares[0] < ways


lines_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=50_000), st.integers(min_value=1, max_value=30),
              st.sampled_from(RATES)), min_size=1, max_size=8)


def _tab_line(key: str, price: Decimal, rate: Decimal) -> TabLine:
    return TabLine(id=key, menu_item_id="m" + key, product_name="P" + key, size="", category="C",
                   station=None, unit_price=price, tax_rate=rate, price_overridden=False, notes=None,
                   modifiers=(), recipe=(), counted=False)


@settings(max_examples=150, deadline=None)
@given(raw=lines_strategy, ways=st.integers(min_value=2, max_value=20),
       mode=st.sampled_from(["exclusive", "inclusive"]))
def test_shares_pay_every_line_and_every_tax_group_exactly(raw, ways: int, mode) -> None:
    open_lines = [OpenLine(key=str(i), unit_price=Decimal(c) / 100, units=u, tax_rate=r)
                  for i, (c, u, r) in enumerate(raw)]
    priced = price_open_lines(open_lines, mode)
    assert priced is not None
    money = line_money(priced)
    assert sum(m.paid for m in money) == to_cents(priced.total)
    parts = share_parts(money, ways, mode == "inclusive")
    expected = split_equal(to_cents(priced.total), ways)
    tab_lines = {ln.key: _tab_line(ln.key, ln.unit_price, ln.tax_rate) for ln in open_lines}
    units = {ln.key: ln.units for ln in open_lines}
    per_line_paid: dict[str, int] = defaultdict(int)
    per_rate_tax: dict[Decimal, int] = defaultdict(int)
    totals = []
    for k, share in enumerate(parts):
        assert sum(p.paid for p in share) == expected[k]
        assert all(p.paid >= 0 and 0 <= p.tax <= max(p.paid, 0) and p.net >= 0 for p in share)
        plan = plan_share(share, tab_lines, units, share_no=k + 1, ways=ways, tab_name="T", tax_mode=mode,
                          tip=Decimal("0"), payments_in=[PaymentIn(method="card")], cash_rounding_setting="none")
        totals.append(plan.priced.total)
        assert sum(to_cents(ln.paid_total) for ln in plan.lines) == to_cents(plan.priced.total)
        for line in plan.lines:
            per_line_paid[line.menu_item_id[1:]] += to_cents(line.paid_total)  # menu item "m<key>"
        for group in plan.priced.tax_breakdown:
            per_rate_tax[group.rate.normalize()] += to_cents(group.tax)
        if k < ways - 1:
            assert all(line.quantity == 0 for line in plan.lines)
        else:
            assert sum(line.quantity for line in plan.lines) == sum(units.values())
    assert sum(totals) == priced.total
    assert all(per_line_paid.get(m.key, 0) == m.paid for m in money)
    tab_tax = {g.rate.normalize(): to_cents(g.tax) for g in priced.tax_breakdown}
    assert {r: t for r, t in per_rate_tax.items() if t} == {r: t for r, t in tab_tax.items() if t}
