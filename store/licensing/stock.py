"""Key stock: how many pool keys each plan has available, reserved and issued.

Read-only queries, constant in number whatever the number of plans or keys: the back
office's stock page and dashboard, and the low-stock alert, use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from store.catalogue.models import Fulfilment, Plan, Product
from store.extensions import db
from store.licensing.models import PoolKey, PoolKeyState


@dataclass(frozen=True)
class Stock:
    available: int
    reserved: int
    issued: int
    threshold: int

    @property
    def is_low(self) -> bool:
        return self.available < self.threshold


def stock_levels(plans: Sequence[Plan]) -> dict[int, Stock]:
    """Count the pool keys of ``plans`` by state in one query: plan id -> Stock."""
    counts: dict[int, dict[PoolKeyState, int]] = {plan.id: {} for plan in plans}
    if counts:
        rows = db.session.execute(
            select(PoolKey.plan_id, PoolKey.state, func.count())
            .where(PoolKey.plan_id.in_(counts)).group_by(PoolKey.plan_id, PoolKey.state)
        )
        for plan_id, state, n in rows:
            counts[plan_id][PoolKeyState(state)] = n
    return {
        plan.id: Stock(
            available=counts[plan.id].get(PoolKeyState.AVAILABLE, 0),
            reserved=counts[plan.id].get(PoolKeyState.RESERVED, 0),
            issued=counts[plan.id].get(PoolKeyState.ISSUED, 0),
            threshold=plan.low_stock_threshold,
        )
        for plan in plans
    }


def pool_plans(*, active_only: bool = False) -> list[Plan]:
    """Plans whose keys come from an imported pool, with their products."""
    query = (
        select(Plan).join(Plan.product).options(contains_eager(Plan.product))
        .where(Plan.fulfilment == Fulfilment.POOL).order_by(Product.name, Plan.sort_order, Plan.id)
    )
    if active_only:
        query = query.where(Plan.is_active, Product.is_active)
    return list(db.session.scalars(query))


def low_stock() -> list[tuple[Plan, Stock]]:
    """Pool plans on sale whose available keys are under their threshold (two queries)."""
    plans = pool_plans(active_only=True)
    levels = stock_levels(plans)
    return [(plan, levels[plan.id]) for plan in plans if levels[plan.id].is_low]


def stock(plan: Plan) -> Stock:
    """Count a plan's pool keys by state."""
    return stock_levels([plan])[plan.id]
