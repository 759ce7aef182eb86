"""Steps of editing the catalogue: what a product and a plan are made of, slugs, and the
recommended plan. They only change rows in the session; the admin's use cases
(store/admin/services/catalogue.py) run them in a transaction and audit what changed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select

from store.catalogue.models import (
    Audience,
    Fulfilment,
    OldSlug,
    Plan,
    PlanKind,
    Platform,
    Product,
    fold_for_search,
)
from store.errors import InvalidInput
from store.extensions import db
from store.money import Money

MAX_SLUG_LENGTH = 80
# Room left at the end of a generated slug for "-2", "-3"...
SLUG_SUFFIX_ROOM = 6
FALLBACK_SLUG = "producto"
# The catalogue's highest price: a sane ceiling that catches a typo of a few zeros.
MAX_PRICE = Money(1_000_000_00, "CUP")
# The lowest: a plan is never free by mistake (a key for 0 CUP is a key given away).
MIN_PRICE = Money(1_00, "CUP")

PRODUCT_FIELDS = ("name", "summary", "description", "platform", "audience", "is_featured",
                  "sort_order", "download_url")
PLAN_FIELDS = ("name", "sku", "duration_days", "seats", "price_minor", "fulfilment", "kind",
               "is_active", "is_recommended", "sort_order", "low_stock_threshold")


@dataclass(frozen=True)
class ProductData:
    """A product as the admin describes it (the slug, the image and the active flag apart)."""

    name: str
    summary: str
    description: str
    platform: Platform
    audience: Audience
    is_featured: bool = False
    sort_order: int = 0
    download_url: str | None = None


@dataclass(frozen=True)
class PlanData:
    """A plan as the admin describes it."""

    name: str
    sku: str
    duration_days: int
    seats: int
    price: Money
    fulfilment: Fulfilment = Fulfilment.GENERATED
    kind: PlanKind = PlanKind.NEW
    is_active: bool = True
    is_recommended: bool = False
    sort_order: int = 0
    low_stock_threshold: int = 10
    # A renewal plan: the ids of the plans (of its product, new licences) it renews.
    renews: tuple[int, ...] = ()


class SlugTaken(InvalidInput):
    """Another product has this slug, or had it (its old address redirects there)."""

    title = _l("This address is already used by another product.")


class PriceOutOfRange(InvalidInput):
    title = _l("The price is out of range")


class SkuTaken(InvalidInput):
    """Another plan has this SKU."""

    title = _l("Another plan already has this SKU.")


def slug_from(name: str) -> str:
    """``name`` as an address: accent-free, lower case, words joined by hyphens."""
    words = re.findall(r"[a-z0-9]+", fold_for_search(name), re.ASCII)
    slug = "-".join(words)[: MAX_SLUG_LENGTH - SLUG_SUFFIX_ROOM].strip("-")
    return slug or FALLBACK_SLUG


def _slugs_like(base: str) -> set[str]:
    """Slugs in use or kept as old ones that are ``base`` or ``base-<something>``."""
    like = [base, f"{base}-%"]
    current = select(Product.slug).where(or_(Product.slug == like[0],
                                             Product.slug.like(like[1], escape="\\")))
    old = select(OldSlug.slug).where(or_(OldSlug.slug == like[0],
                                         OldSlug.slug.like(like[1], escape="\\")))
    return set(db.session.scalars(current.union(old)))


def new_slug(name: str) -> str:
    """A free slug for a new product called ``name``: its slug, else with -2, -3..."""
    base = slug_from(name)
    taken = _slugs_like(base)
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def change_slug(product: Product, slug: str) -> None:
    """Give ``product`` the address ``slug``, keeping its current one to redirect.

    A product may take back one of its own old slugs. Raises SlugTaken when another
    product has ``slug`` or had it.
    """
    if slug == product.slug:
        return
    in_use = db.session.scalar(select(Product.id).where(Product.slug == slug))
    kept_for = db.session.scalar(select(OldSlug.product_id).where(OldSlug.slug == slug))
    if in_use is not None or kept_for not in (None, product.id):
        raise SlugTaken(SlugTaken.title)
    db.session.execute(delete(OldSlug).where(OldSlug.slug == slug))
    db.session.add(OldSlug(product_id=product.id, slug=product.slug))
    product.slug = slug


def fill_product(product: Product, data: ProductData) -> None:
    for name, value in asdict(data).items():
        setattr(product, name, value)


def fill_plan(plan: Plan, data: PlanData) -> None:
    """Set ``plan``'s fields from ``data``. Raises PriceOutOfRange (a plan is never free)."""
    values = asdict(data)
    price = data.price
    if not MIN_PRICE <= price <= MAX_PRICE:
        raise PriceOutOfRange(_l("A price is from %(min)s to %(max)s.",
                                 min=MIN_PRICE, max=MAX_PRICE))
    del values["price"]
    renews = values.pop("renews")
    for name, value in values.items():
        setattr(plan, name, value)
    plan.price_minor, plan.currency = price.minor, price.currency
    plan.renews = _renewed_plans(plan, renews) if data.kind == PlanKind.RENEWAL else []


class RenewsInvalid(InvalidInput):
    """A renewal plan must renew one or more new-licence plans of its own product."""

    title = _l("Choose the plans this renewal renews: new licences of this product.")


def _renewed_plans(plan: Plan, ids: tuple[int, ...]) -> list[Plan]:
    """The plans a renewal plan renews: new-licence plans of its own product. Raises
    RenewsInvalid for none, or for any other plan."""
    if not ids:
        raise RenewsInvalid(_l("Choose the plans this renewal renews."))
    plans = list(db.session.scalars(select(Plan).where(
        Plan.id.in_(ids), Plan.product_id == plan.product_id, Plan.kind == PlanKind.NEW)))
    if len(plans) != len(set(ids)):
        raise RenewsInvalid(_l("A renewal renews new-licence plans of its own product."))
    return plans


def sku_taken(sku: str, *, by_other_than: int | None = None) -> bool:
    query = select(Plan.id).where(Plan.sku == sku)
    if by_other_than is not None:
        query = query.where(Plan.id != by_other_than)
    return db.session.scalar(query.limit(1)) is not None


def other_recommended(plan: Plan) -> list[Plan]:
    """The product's other plans marked as recommended (choosing ``plan`` clears them)."""
    return list(db.session.scalars(
        select(Plan).where(Plan.product_id == plan.product_id, Plan.id != plan.id,
                           Plan.is_recommended.is_(True))
    ))
