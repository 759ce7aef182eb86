"""Build rows for tests. They add to the session; the test commits."""

from __future__ import annotations

from itertools import count

from store.catalogue.models import Audience, Fulfilment, Plan, PlanKind, Platform, Product
from store.extensions import db
from store.vault import get_vault
from store.licensing.models import PoolKey
from store.orders.models import Order, OrderLine, OrderStatus

_sequence = count(1)


def make_product(**fields) -> Product:
    n = next(_sequence)
    values = {
        "slug": f"product-{n}",
        "name": f"Product {n}",
        "summary": f"Summary of product {n}",
        "description": "",
        "platform": Platform.WINDOWS,
        "audience": Audience.HOME,
        "is_active": True,
        "sort_order": n,
    }
    plans = fields.pop("plans", None)
    values.update(fields)
    product = Product(**values)
    db.session.add(product)
    for plan_fields in [{}] if plans is None else plans:
        make_plan(product, **plan_fields)
    return product


def make_plan(product: Product, **fields) -> Plan:
    n = next(_sequence)
    values = {
        "name": f"Plan {n}",
        "sku": f"SKU-{n}",
        "duration_days": 365,
        "seats": 1,
        "price_minor": 5000,
        "currency": "CUP",
        "fulfilment": Fulfilment.GENERATED,
        "kind": PlanKind.NEW,
        "is_active": True,
    }
    values.update(fields)
    plan = Plan(**values)
    product.plans.append(plan)
    return plan


def make_order(plan: Plan, quantity: int = 1, **fields) -> Order:
    """An order pending payment with one line for ``quantity`` of ``plan``."""
    n = next(_sequence)
    values = {
        "number": f"T-{n:06d}",
        "email": f"buyer{n}@example.test",
        "status": OrderStatus.PENDING_PAYMENT,
        "currency": plan.currency,
        "total_minor": plan.price_minor * quantity,
    }
    values.update(fields)
    order = Order(**values)
    order.lines.append(OrderLine.snapshot(plan, quantity))
    db.session.add(order)
    return order


def make_pool(plan: Plan, count: int, prefix: str = "VENDOR") -> list[str]:
    """Seal ``count`` vendor keys into ``plan``'s pool; return them in plain text."""
    vault = get_vault()
    plain = [f"{prefix}-{plan.sku}-{i:06d}" for i in range(count)]
    for key in plain:
        sealed = vault.seal(key)
        db.session.add(
            PoolKey(
                plan=plan, ciphertext=sealed.ciphertext, vault_key_id=sealed.key_id,
                lookup_hash=sealed.lookup_hash,
            )
        )
    return plain


def issue_licence(seats: int = 3, **plan_fields) -> tuple[str, int]:
    """Issue (and commit) one licence of a new generated plan; return (key, licence id).

    Unlike the factories above it commits, through the issuing use case's steps.
    """
    from store.licensing.services import issue
    from store.unit_of_work import use_case
    from store.vault import reveal

    plan = make_plan(make_product(plans=[]), seats=seats, **plan_fields)
    line = make_order(plan).lines[0]
    db.session.commit()
    with use_case() as uow:
        licence = issue(db.session.get(OrderLine, line.id))[0]
        key, licence_id = reveal(licence), licence.id
        uow.commit()
    return key, licence_id


def renewable_licence(expires_at, *, renewable: bool = True, **order_fields) -> int:
    """Issue (and commit) a licence expiring at ``expires_at`` whose plan a renewal plan on
    sale renews (none with ``renewable=False``); return its id. ``order_fields`` go to the
    order (email, locale, full_name)."""
    from store.licensing.services import issue
    from store.unit_of_work import use_case

    product = make_product(plans=[])
    plan = make_plan(product, name="1 año · 1 PC")
    if renewable:
        renewal = make_plan(product, name="Renovación 1 año", kind=PlanKind.RENEWAL,
                            price_minor=3000)
        renewal.renews.append(plan)
    line = make_order(plan, **order_fields).lines[0]
    db.session.commit()
    with use_case() as uow:
        licence = issue(db.session.get(OrderLine, line.id))[0]
        licence.expires_at = expires_at
        licence_id = licence.id
        uow.commit()
    return licence_id
