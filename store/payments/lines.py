"""What a provider lists as bought: each order line's share of the charge.

A provider that settles in another currency charges the order's total converted once
(rounded up, see Money.convert). Converting each line on its own would round each one up
and could add a cent or two to the total, and the provider would then confirm an amount
the payment never asked for. So the charge is split between the lines in proportion to
their CUP totals, in whole minor units, and the units left over by rounding down go one
each to the lines that lost the most to it: the lines always add up to the charge.
"""

from __future__ import annotations

from collections.abc import Sequence

from store.money import Money
from store.orders.models import OrderLine
from store.payments.gateway import PaymentLine


def split(charge: Money, weights: Sequence[int]) -> list[Money]:
    """``charge`` in parts proportional to ``weights`` (non-negative, not all zero) that
    add up to it exactly, largest remainders first, earlier parts first on a tie."""
    whole = sum(weights)
    shares = [charge.minor * weight // whole for weight in weights]
    lost = [charge.minor * weight % whole for weight in weights]
    left_over = charge.minor - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: -lost[i])[:left_over]:
        shares[index] += 1
    return [Money(share, charge.currency) for share in shares]


def charged_lines(lines: Sequence[OrderLine], charge: Money) -> tuple[PaymentLine, ...]:
    """The order's lines with their share of ``charge``, in the charge's currency."""
    if not lines:
        return ()
    totals = [line.unit_price_minor * line.quantity for line in lines]
    if not any(totals):
        totals = [1] * len(lines)
    return tuple(
        PaymentLine(f"{line.product_name} · {line.plan_name}", line.quantity, amount)
        for line, amount in zip(lines, split(charge, totals), strict=True)
    )
