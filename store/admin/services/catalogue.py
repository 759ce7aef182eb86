"""The admin's use cases on the catalogue: products and plans, their prices and images.

Each use case runs in one transaction and audits what changed (before and after).
Products and plans are never deleted, only deactivated: an order line, a pool key or a
licence may refer to them. Switching a plan between generated and pool keys looks at
its reserved pool keys, which is why these use cases live in the back office.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from math import ceil
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from store.audit.models import Actor, record_change, values_of
from store.catalogue.editing import (
    PLAN_FIELDS,
    PRODUCT_FIELDS,
    PlanData,
    ProductData,
    SkuTaken,
    SlugTaken,
    change_slug,
    fill_plan,
    fill_product,
    new_slug,
    other_recommended,
    sku_taken,
)
from store.catalogue.images import image_files
from store.catalogue.models import Plan, Product, fold_for_search
from store.catalogue.services import MAX_QUERY_WORDS
from store.errors import InvalidInput, NotFound
from store.extensions import db
from store.licensing.models import PoolKey, PoolKeyState
from store.pagination import Paginated
from store.unit_of_work import use_case

PER_PAGE = 20
MAX_PAGE = 10_000
# What the audit log keeps of a plan: its fields and the plans a renewal renews.
PLAN_AUDIT = (*PLAN_FIELDS, "renewed_plan_ids")
# What the audit log keeps of a product besides its PRODUCT_FIELDS.
PRODUCT_AUDIT = (*PRODUCT_FIELDS, "slug", "is_active", "image_name")


class FulfilmentLocked(InvalidInput):
    """The plan has reserved pool keys: orders waiting for payment hold them."""

    title = _l("Keys cannot switch between generated and pool while orders waiting for "
               "payment hold reserved keys of this plan. Try again once they are paid or "
               "expired.")


class Status(enum.StrEnum):
    """What the product list shows besides every product."""

    ACTIVE = "active"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class AdminProductPage(Paginated):
    items: list[Product]
    page: int
    per_page: int
    total: int


def find_products(query: str = "", status: str = "", *, page: int = 1,
                  per_page: int = PER_PAGE) -> AdminProductPage:
    """One page of every product (active or not) whose name or a plan's SKU matches."""
    found = select(Product)
    for word in fold_for_search(query).split()[:MAX_QUERY_WORDS]:
        by_sku = exists().where(Plan.product_id == Product.id,
                                func.lower(Plan.sku).contains(word, autoescape=True))
        found = found.where(or_(Product.search_text.contains(word, autoescape=True), by_sku))
    if status in set(Status):
        found = found.where(Product.is_active.is_(status == Status.ACTIVE))
    total = db.session.scalar(select(func.count()).select_from(found.subquery())) or 0
    page = min(max(page, 1), max(1, ceil(total / per_page)), MAX_PAGE)
    items = db.session.scalars(
        found.order_by(Product.sort_order, Product.name, Product.id)
        .limit(per_page).offset((page - 1) * per_page)
    )
    return AdminProductPage(list(items), page=page, per_page=per_page, total=total)


def get_product(product_id: int) -> Product:
    """The product with its plans (all of them). Raises NotFound."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(_l("There is no such product."))
    return product


def get_plan(plan_id: int) -> Plan:
    """The plan. Raises NotFound."""
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(_l("There is no such plan."))
    return plan


def create_product(actor: Actor, data: ProductData, *,
                   image: dict[str, bytes] | None = None, folder: Path) -> int:
    """Add an active product with a slug made from its name; returns its id.

    It shows in the storefront once it has an active plan. Raises SlugTaken when another
    admin took the same slug at the same moment (PostgreSQL; SQLite writes one at a time).
    """
    try:
        with image_files(image, folder) as image_name, use_case() as uow:
            product = Product(slug=new_slug(data.name), image_name=image_name, is_active=True)
            fill_product(product, data)
            db.session.add(product)
            db.session.flush()
            record_change(actor=actor, action="product.create", subject=product, before={},
                          after=values_of(product, *PRODUCT_AUDIT))
            uow.commit()
    except IntegrityError:
        raise SlugTaken(SlugTaken.title) from None
    return product.id


def update_product(actor: Actor, product_id: int, data: ProductData, *, slug: str | None = None,
                   image: dict[str, bytes] | None = None, folder: Path) -> None:
    """Change a product; a new ``slug`` keeps the old one as a redirect, a new ``image``
    replaces the shown one (the old files stay on disk; a refused change leaves none). Renaming keeps the slug.
    Raises NotFound, or SlugTaken when another product has or had ``slug``.
    """
    try:
        with image_files(image, folder) as image_name, use_case() as uow:
            product = get_product(product_id)
            before = values_of(product, *PRODUCT_AUDIT)
            fill_product(product, data)
            if slug:
                change_slug(product, slug)
            if image_name:
                product.image_name = image_name
            db.session.flush()
            record_change(actor=actor, action="product.update", subject=product,
                          before=before, after=values_of(product, *PRODUCT_AUDIT))
            uow.commit()
    except IntegrityError:
        raise SlugTaken(SlugTaken.title) from None


def set_product_active(actor: Actor, product_id: int, active: bool) -> None:
    """Put a product on sale or take it off (its plans keep their own flags)."""
    with use_case() as uow:
        _switch(actor, get_product(product_id), active)
        uow.commit()


def _switch(actor: Actor, row: Product | Plan, active: bool) -> None:
    """Put ``row`` on sale or take it off, audited as "<table>.activate" or ".deactivate"."""
    before = values_of(row, "is_active")
    row.is_active = active
    verb = "activate" if active else "deactivate"
    record_change(actor=actor, action=f"{row.__tablename__}.{verb}", subject=row,
                  before=before, after=values_of(row, "is_active"))


def _recommend(actor: Actor, plan: Plan) -> None:
    """Clear the recommendation of the product's other plans when ``plan`` has it."""
    if not plan.is_recommended:
        return
    for other in other_recommended(plan):
        other.is_recommended = False
        record_change(actor=actor, action="plan.update", subject=other,
                      before={"is_recommended": True}, after={"is_recommended": False},
                      reason=f"plan {plan.sku} recommended instead")


def _has_open_reservations(plan: Plan) -> bool:
    return db.session.scalar(select(PoolKey.id).where(
        PoolKey.plan_id == plan.id, PoolKey.state == PoolKeyState.RESERVED).limit(1)) is not None


def _sku_error_after(error: IntegrityError, sku: str, plan_id: int | None) -> Exception:
    """What a unique-key violation meant: another admin took the SKU at the same moment."""
    if sku_taken(sku, by_other_than=plan_id):
        return SkuTaken(SkuTaken.title)
    return error


def create_plan(actor: Actor, product_id: int, data: PlanData) -> int:
    """Add a plan to a product. Returns its id. Raises NotFound or SkuTaken."""
    try:
        with use_case() as uow:
            product = get_product(product_id)
            if sku_taken(data.sku):
                raise SkuTaken(SkuTaken.title)
            plan = Plan(product_id=product.id)
            fill_plan(plan, data)
            db.session.add(plan)
            db.session.flush()
            _recommend(actor, plan)
            record_change(actor=actor, action="plan.create", subject=plan, before={},
                          after=values_of(plan, *PLAN_AUDIT))
            uow.commit()
    except IntegrityError as error:
        raise _sku_error_after(error, data.sku, None) from None
    return plan.id


def update_plan(actor: Actor, plan_id: int, data: PlanData) -> None:
    """Change a plan. A new price applies to new carts only: orders keep their snapshot.

    Raises NotFound, SkuTaken, or FulfilmentLocked when the fulfilment changes while
    the plan has reserved pool keys.
    """
    try:
        with use_case() as uow:
            plan = get_plan(plan_id)
            # Locked and read again under the lock: the audit's "before" and the
            # fulfilment check see the row as it is now, not as first loaded.
            db.session.refresh(plan, with_for_update=True)
            if sku_taken(data.sku, by_other_than=plan.id):
                raise SkuTaken(SkuTaken.title)
            if data.fulfilment != plan.fulfilment and _has_open_reservations(plan):
                raise FulfilmentLocked(FulfilmentLocked.title)
            before = values_of(plan, *PLAN_AUDIT)
            fill_plan(plan, data)
            db.session.flush()
            _recommend(actor, plan)
            record_change(actor=actor, action="plan.update", subject=plan, before=before,
                          after=values_of(plan, *PLAN_AUDIT))
            uow.commit()
    except IntegrityError as error:
        raise _sku_error_after(error, data.sku, plan_id) from None


def set_plan_active(actor: Actor, plan_id: int, active: bool) -> int:
    """Put a plan on sale or take it off. Returns its product's id. Raises NotFound."""
    with use_case() as uow:
        plan = get_plan(plan_id)
        _switch(actor, plan, active)
        uow.commit()
        return plan.product_id
