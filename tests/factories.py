"""Build catalogue rows for tests. They add to the session; the test commits."""

from __future__ import annotations

from itertools import count

from store.catalogue.models import Audience, Fulfilment, Plan, PlanKind, Platform, Product
from store.extensions import db

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
