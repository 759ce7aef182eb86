"""Catalogue services against the database: filters, search, visibility, demo data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from store.catalogue import services
from store.catalogue.demo import seed_demo_catalogue
from store.catalogue.models import Audience, Plan, PlanKind, Platform, Product
from store.catalogue.services import ProductFilter
from store.errors import NotFound
from store.extensions import db
from store.money import Money
from tests.factories import make_plan, make_product

pytestmark = pytest.mark.usefixtures("app_context")


def slugs(page) -> list[str]:
    return [view.product.slug for view in page.items]


@pytest.fixture
def catalogue(app_context):
    make_product(slug="win-home", name="Escudo Hogar", platform=Platform.WINDOWS)
    make_product(
        slug="win-business", name="Escudo Empresa", platform=Platform.WINDOWS,
        audience=Audience.BUSINESS,
    )
    make_product(slug="phone", name="Guardián Móvil", platform=Platform.ANDROID,
                 summary="Protección para el teléfono")
    make_product(slug="suite", name="Suite Familiar", platform=Platform.MULTI)
    make_product(slug="server", name="Servidor", platform=Platform.LINUX,
                 audience=Audience.BUSINESS)
    db.session.commit()


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ProductFilter(), {"win-home", "win-business", "phone", "suite", "server"}),
        (ProductFilter(platform=Platform.WINDOWS), {"win-home", "win-business", "suite"}),
        (ProductFilter(platform=Platform.ANDROID), {"phone", "suite"}),
        (ProductFilter(platform=Platform.LINUX), {"server", "suite"}),
        (ProductFilter(audience=Audience.BUSINESS), {"win-business", "server"}),
        (ProductFilter(platform=Platform.WINDOWS, audience=Audience.BUSINESS), {"win-business"}),
        (ProductFilter(query="escudo"), {"win-home", "win-business"}),
        (ProductFilter(query="ESCUDO hogar"), {"win-home"}),
        (ProductFilter(query="movil"), {"phone"}),
        (ProductFilter(query="telefono"), {"phone"}),
        (ProductFilter(query="guardián"), {"phone"}),
        (ProductFilter(query="nothing-like-this"), set()),
        (ProductFilter(query="%"), set()),
        (ProductFilter(query="_"), set()),
        (ProductFilter(query="' OR 1=1 --"), set()),
    ],
)
def test_list_products_returns_exactly_the_matching_products(filters, expected):
    page = services.list_products(filters)
    assert set(slugs(page)) == expected
    assert page.total == len(expected)


def test_inactive_products_and_products_without_active_plans_are_not_listed():
    make_product(slug="on-sale")
    make_product(slug="withdrawn", is_active=False)
    make_product(slug="no-active-plan", plans=[{"is_active": False}])
    make_product(slug="no-plan", plans=[])
    db.session.commit()

    assert slugs(services.list_products(ProductFilter())) == ["on-sale"]
    assert slugs_of(services.featured_products()) == ["on-sale"]


def slugs_of(views) -> list[str]:
    return [view.product.slug for view in views]


def test_inactive_plans_are_never_attached_to_a_product():
    product = make_product(slug="mixed", plans=[{"sku": "ON"}, {"sku": "OFF", "is_active": False}])
    db.session.commit()

    listed = services.list_products(ProductFilter()).items[0]
    shown = services.get_product("mixed")

    assert [p.sku for p in listed.plans] == ["ON"]
    assert [p.sku for p in shown.plans] == ["ON"]
    assert shown.product.id == product.id


def test_from_price_is_the_cheapest_new_plan_not_a_cheaper_renewal():
    make_product(
        slug="p",
        plans=[
            {"price_minor": 9000},
            {"price_minor": 5000},
            {"price_minor": 4000, "kind": PlanKind.RENEWAL},
        ],
    )
    db.session.commit()
    assert services.get_product("p").from_price == Money(5000, "CUP")


def test_pages_split_the_list_and_keep_the_order():
    for n in range(25):
        make_product(slug=f"p{n:02d}", sort_order=n)
    db.session.commit()

    first = services.list_products(ProductFilter(), page=1, per_page=10)
    third = services.list_products(ProductFilter(), page=3, per_page=10)
    beyond = services.list_products(ProductFilter(), page=99, per_page=10)

    assert slugs(first) == [f"p{n:02d}" for n in range(10)]
    assert slugs(third) == [f"p{n:02d}" for n in range(20, 25)]
    assert (first.pages, first.has_prev, first.has_next) == (3, False, True)
    assert (third.has_prev, third.has_next) == (True, False)
    # A page past the end shows the last page rather than "25 found" over an empty list.
    assert (beyond.page, slugs(beyond), beyond.total) == (3, slugs(third), 25)


def test_featured_products_come_first_and_the_list_is_topped_up():
    make_product(slug="plain", sort_order=1)
    make_product(slug="star", sort_order=2, is_featured=True)
    db.session.commit()
    assert slugs_of(services.featured_products(limit=6)) == ["star", "plain"]
    assert slugs_of(services.featured_products(limit=1)) == ["star"]


@pytest.mark.parametrize("slug", ["unknown", "withdrawn", "nothing-to-buy", "x" * 500])
def test_get_product_raises_not_found_for_products_not_on_sale(slug):
    make_product(slug="withdrawn", is_active=False)
    make_product(slug="nothing-to-buy", plans=[{"is_active": False}])
    db.session.commit()
    with pytest.raises(NotFound):
        services.get_product(slug)


def test_search_text_follows_edits_to_the_product():
    product = make_product(slug="p", name="Antiguo")
    db.session.commit()
    product.name = "Nuevo Nombre"
    db.session.commit()
    assert slugs(services.list_products(ProductFilter(query="nuevo"))) == ["p"]
    assert slugs(services.list_products(ProductFilter(query="antiguo"))) == []


def test_sku_is_unique_across_plans():
    make_product(plans=[{"sku": "SAME"}])
    db.session.commit()
    make_product(plans=[{"sku": "SAME"}])
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 1


@pytest.mark.parametrize(
    "column", ["price_minor", "seats", "duration_days"], ids=["price", "seats", "duration"]
)
def test_database_refuses_negative_prices_and_empty_plans(column):
    product = make_product(plans=[])
    db.session.commit()
    values = {"price_minor": -1} if column == "price_minor" else {column: 0}
    make_plan(product, **values)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0


def test_database_refuses_a_plan_priced_in_another_currency():
    product = make_product(plans=[])
    db.session.commit()
    make_plan(product, currency="USD")
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_database_refuses_an_unknown_platform_value():
    make_product(plans=[])
    db.session.commit()
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE product SET platform = 'amiga'"))


def test_demo_catalogue_covers_platforms_audiences_and_plan_kinds():
    result = seed_demo_catalogue()

    products = db.session.scalars(sa.select(Product)).all()
    plans = db.session.scalars(sa.select(Plan)).all()
    assert (result.products_added, result.plans_added) == (len(products), len(plans))
    assert len(products) >= 6 and len(plans) >= 12
    assert {p.platform for p in products} == set(Platform)
    assert {p.audience for p in products} == set(Audience)
    assert {p.kind for p in plans} == set(PlanKind)
    home = db.session.scalar(sa.select(Plan).where(Plan.sku == "AH-1A-1PC"))
    assert (home.price, home.seats, home.duration_days) == (Money(5000, "CUP"), 1, 365)
    assert {p.currency for p in plans} == {"CUP"}


def test_demo_catalogue_twice_changes_nothing():
    def snapshot():
        products = db.session.execute(sa.select(Product.slug, Product.name, Product.updated_at))
        plans = db.session.execute(sa.select(Plan.sku, Plan.price_minor, Plan.updated_at))
        return sorted(products.all()), sorted(plans.all())

    seed_demo_catalogue()
    before = snapshot()

    again = seed_demo_catalogue()

    assert (again.products_added, again.plans_added) == (0, 0)
    assert snapshot() == before


def test_demo_catalogue_only_if_empty_leaves_an_existing_catalogue_alone():
    make_product(slug="mine")
    db.session.commit()

    result = seed_demo_catalogue(only_if_empty=True)

    assert result.skipped
    assert db.session.scalars(sa.select(Product.slug)).all() == ["mine"]


def test_demo_catalogue_recommends_at_most_one_new_plan_per_product():
    seed_demo_catalogue()

    recommended = db.session.execute(
        sa.select(Product.slug, Plan.sku, Plan.kind).join(Plan.product)
        .where(Plan.is_recommended.is_(True))
    ).all()

    assert sorted(sku for _, sku, _ in recommended) == ["AF-2A-5D", "AH-2A-1PC", "AM-1A-1D"]
    assert len({slug for slug, _, _ in recommended}) == len(recommended)
    assert {kind for _, _, kind in recommended} == {PlanKind.NEW}


def offers_by_sku(detail) -> dict[str, services.PlanOffer]:
    return {offer.plan.sku: offer for offer in detail.new + detail.renewals}


def cup(minor: int) -> Money:
    return Money(minor, "CUP")


def test_each_plan_is_offered_with_its_price_per_year_and_its_saving_on_the_like_one_year_plan():
    renewal = PlanKind.RENEWAL
    plans = [
        {"sku": "1A-1PC", "price_minor": 5000},
        {"sku": "1A-3PC", "price_minor": 12000, "seats": 3},
        {"sku": "2A-1PC", "price_minor": 9000, "duration_days": 730},
        # No one-year plan for 5 devices: cheaper than two 1-PC years, but no saving shown.
        {"sku": "2A-5PC", "price_minor": 9500, "duration_days": 730, "seats": 5},
        {"sku": "6M-1PC", "price_minor": 1800, "duration_days": 180},
        {"sku": "R-1A-1PC", "price_minor": 4000, "kind": renewal},
        # A renewal saves against the one-year renewal, not against a new licence.
        {"sku": "R-2A-1PC", "price_minor": 7000, "duration_days": 730, "kind": renewal},
    ]
    make_product(slug="hogar", plans=[{**plan, "sort_order": n} for n, plan in enumerate(plans)])
    db.session.commit()

    detail = services.get_product("hogar")
    offers = offers_by_sku(detail)

    assert [o.plan.sku for o in detail.new] == ["1A-1PC", "1A-3PC", "2A-1PC", "2A-5PC", "6M-1PC"]
    assert [o.plan.sku for o in detail.renewals] == ["R-1A-1PC", "R-2A-1PC"]
    assert {sku: (o.per_year, o.saving) for sku, o in offers.items()} == {
        "1A-1PC": (None, None),
        "1A-3PC": (None, None),
        "2A-1PC": (cup(4500), cup(1000)),
        "2A-5PC": (cup(4750), None),
        "6M-1PC": (cup(3650), None),
        "R-1A-1PC": (None, None),
        "R-2A-1PC": (cup(3500), cup(1000)),
    }


def test_the_saving_is_against_the_cheapest_one_year_plan_of_the_same_seats():
    make_product(slug="p", plans=[
        {"sku": "1A-DEAR", "price_minor": 6000},
        {"sku": "1A-CHEAP", "price_minor": 5000},
        {"sku": "2A", "price_minor": 9000, "duration_days": 730},
    ])
    db.session.commit()

    assert offers_by_sku(services.get_product("p"))["2A"].saving == cup(1000)


def test_the_recommended_plan_is_preselected_and_only_one_plan_is_recommended():
    make_product(slug="p", plans=[
        {"sku": "R", "kind": PlanKind.RENEWAL, "is_recommended": True},
        {"sku": "A"},
        {"sku": "B", "is_recommended": True},
        {"sku": "C", "is_recommended": True},
    ])
    db.session.commit()

    detail = services.get_product("p")

    # A new licence wins over a renewal marked too; then the first in the page's order.
    assert [o.plan.sku for o in detail.new + detail.renewals if o.recommended] == ["B"]
    assert detail.preselected.plan.sku == "B"


@pytest.mark.parametrize(
    ("plans", "preselected"),
    [
        ([{"sku": "R", "kind": PlanKind.RENEWAL}, {"sku": "A"}, {"sku": "B"}], "A"),
        ([{"sku": "R1", "kind": PlanKind.RENEWAL}, {"sku": "R2", "kind": PlanKind.RENEWAL}], None),
    ],
    ids=["first-new-plan", "none-when-all-are-renewals"],
)
def test_without_a_recommended_plan_the_first_new_plan_is_preselected(plans, preselected):
    make_product(slug="p", plans=[{**plan, "sort_order": n} for n, plan in enumerate(plans)])
    db.session.commit()

    detail = services.get_product("p")

    # Renewals are never preselected: each is bought for a licence.
    assert (detail.preselected and detail.preselected.plan.sku) == preselected
    assert not any(o.recommended for o in detail.new + detail.renewals)


def test_an_inactive_recommended_plan_is_neither_offered_nor_preselected():
    make_product(slug="p", plans=[{"sku": "A"}, {"sku": "GONE", "is_recommended": True,
                                                 "is_active": False}])
    db.session.commit()

    detail = services.get_product("p")

    assert [o.plan.sku for o in detail.new] == ["A"] and detail.preselected.plan.sku == "A"


def test_a_product_page_takes_as_many_queries_for_2_plans_as_for_30(count_queries):
    make_product(slug="few", plans=[{}, {"duration_days": 730}])
    make_product(slug="many", plans=[
        {"duration_days": 365 * (1 + n % 3), "seats": 1 + n % 4,
         "kind": PlanKind.RENEWAL if n % 5 == 0 else PlanKind.NEW} for n in range(30)
    ])
    db.session.commit()

    def queries(slug: str) -> int:
        with count_queries() as counter:
            detail = services.get_product(slug)
            [(o.per_year, o.saving) for o in detail.new + detail.renewals]
        db.session.rollback()  # each call in a transaction of its own
        return counter.count

    few = queries("few")
    assert few == queries("many")
    assert few <= 3  # the product, its plans (and BEGIN on SQLite)
