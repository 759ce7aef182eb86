"""Read-side use cases of the catalogue: list, search, filter and show products."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from math import ceil

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, exists, func, select

from store.catalogue.models import (
    Audience,
    OldSlug,
    Plan,
    PlanKind,
    Platform,
    Product,
    fold_for_search,
)
from store.catalogue.pricing import DAYS_PER_YEAR, price_per_year, saving
from store.errors import NotFound
from store.extensions import db
from store.money import Money
from store.pagination import Paginated

MAX_QUERY_LENGTH = 100
MAX_QUERY_WORDS = 8
MAX_PAGE = 10_000
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)


@dataclass(frozen=True)
class ProductFilter:
    """What a visitor narrowed the list to; every field optional."""

    platform: Platform | None = None
    audience: Audience | None = None
    query: str = ""

    def query_args(self) -> dict[str, str]:
        """The filter as query-string arguments, for links that keep it (pagination)."""
        args = {"q": self.query}
        if self.platform is not None:
            args["platform"] = self.platform.value
        if self.audience is not None:
            args["audience"] = self.audience.value
        return {key: value for key, value in args.items() if value}

    def words(self) -> list[str]:
        return fold_for_search(self.query[:MAX_QUERY_LENGTH]).split()[:MAX_QUERY_WORDS]


@dataclass(frozen=True)
class ProductView:
    """A product with the plans currently on sale."""

    product: Product
    plans: list[Plan] = field(default_factory=list)

    @property
    def from_price(self) -> Money | None:
        """The lowest price of a new licence (or of any plan when all are renewals)."""
        candidates = [p for p in self.plans if p.kind == PlanKind.NEW] or self.plans
        return min((p.price for p in candidates), default=None)


@dataclass(frozen=True)
class PlanOffer:
    """A plan as the product page offers it, compared with the product's one-year plan."""

    plan: Plan
    per_year: Money | None  # None for a one-year plan: its price is the price per year
    saving: Money | None  # against the one-year plan of the same kind and seats
    recommended: bool = False


@dataclass(frozen=True)
class ProductDetail(ProductView):
    """A product page: its plans and their offers, new licences apart from renewals."""

    new: list[PlanOffer] = field(default_factory=list)
    renewals: list[PlanOffer] = field(default_factory=list)

    @property
    def preselected(self) -> PlanOffer | None:
        """The recommended new licence, else the first one. Renewals are not chosen here:
        each is bought for a licence (store/renewals)."""
        return next((o for o in self.new if o.recommended), self.new[0] if self.new else None)


@dataclass(frozen=True)
class ProductPage(Paginated):
    items: list[ProductView]
    page: int
    per_page: int
    total: int


def _on_sale() -> Select:
    """Active products that have at least one active plan."""
    has_plan = exists().where(and_(Plan.product_id == Product.id, Plan.is_active.is_(True)))
    return select(Product).where(Product.is_active.is_(True), has_plan)


def _with_plans(products: list[Product]) -> list[ProductView]:
    """Attach the active plans of all ``products`` with one query."""
    if not products:
        return []
    plans = db.session.scalars(
        select(Plan)
        .where(Plan.product_id.in_([p.id for p in products]), Plan.is_active.is_(True))
        .order_by(Plan.sort_order, Plan.price_minor, Plan.id)
    )
    by_product: dict[int, list[Plan]] = {p.id: [] for p in products}
    for plan in plans:
        by_product[plan.product_id].append(plan)
    return [ProductView(product, by_product[product.id]) for product in products]


def plan_offers(plans: list[Plan]) -> list[PlanOffer]:
    """Offer each plan with its price per year and its saving; recommend at most one.

    A plan's saving is against the cheapest one-year plan of the same kind and seats. The
    recommended plan is the first one marked so, a new licence before a renewal. Reads only
    the plans given: no query.
    """
    one_year: dict[tuple[PlanKind, int], Money] = {}
    for plan in plans:
        if plan.duration_days == DAYS_PER_YEAR:
            key = (plan.kind, plan.seats)
            one_year[key] = min(one_year.get(key, plan.price), plan.price)
    marked = [plan for plan in plans if plan.is_recommended]
    recommended = min(marked, key=lambda plan: plan.kind != PlanKind.NEW, default=None)
    return [_offer(plan, one_year.get((plan.kind, plan.seats)), plan is recommended)
            for plan in plans]


def _offer(plan: Plan, one_year_price: Money | None, recommended: bool) -> PlanOffer:
    yearly = plan.duration_days == DAYS_PER_YEAR
    return PlanOffer(
        plan=plan,
        per_year=None if yearly else price_per_year(plan.price, plan.duration_days),
        saving=None if one_year_price is None else saving(
            plan.price, plan.duration_days, one_year_price=one_year_price
        ),
        recommended=recommended,
    )


def list_products(filters: ProductFilter, *, page: int = 1, per_page: int = 12) -> ProductPage:
    """Return one page of products on sale that match ``filters``.

    Runs a constant number of queries whatever the number of products.
    """
    query = _on_sale()
    if filters.platform is not None:
        # A multi-platform suite also protects the platform asked for.
        query = query.where(Product.platform.in_([filters.platform, Platform.MULTI]))
    if filters.audience is not None:
        query = query.where(Product.audience == filters.audience)
    for word in filters.words():
        query = query.where(Product.search_text.contains(word, autoescape=True))

    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # A page past the end (an old link, a typed URL) shows the last page instead.
    page = min(max(page, 1), max(1, ceil(total / per_page)), MAX_PAGE)
    products = list(
        db.session.scalars(
            query.order_by(Product.sort_order, Product.name, Product.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return ProductPage(_with_plans(products), page=page, per_page=per_page, total=total)


def featured_products(limit: int = 6) -> list[ProductView]:
    """Return the featured products on sale, topped up with others when too few are featured."""
    query = _on_sale().order_by(
        Product.is_featured.desc(), Product.sort_order, Product.name, Product.id
    )
    return _with_plans(list(db.session.scalars(query.limit(limit))))


def get_product(slug: str) -> ProductDetail:
    """Return the product on sale at ``slug`` with its active plans and how each is offered.

    Two queries whatever the number of plans. Raises NotFound for an unknown slug, an
    inactive product or one with no active plan.
    """
    product = None
    if SLUG.fullmatch(slug):
        product = db.session.scalar(_on_sale().where(Product.slug == slug))
    if product is None:
        raise NotFound(_l("This product does not exist or is no longer on sale."))
    plans = _with_plans([product])[0].plans
    offers = plan_offers(plans)
    return ProductDetail(
        product,
        plans,
        new=[offer for offer in offers if offer.plan.kind == PlanKind.NEW],
        renewals=[offer for offer in offers if offer.plan.kind == PlanKind.RENEWAL],
    )



def moved_to(slug: str) -> str | None:
    """The current slug of the product that had ``slug`` before, or None."""
    if not SLUG.fullmatch(slug):
        return None
    return db.session.scalar(
        select(Product.slug).join(OldSlug, OldSlug.product_id == Product.id)
        .where(OldSlug.slug == slug)
    )
