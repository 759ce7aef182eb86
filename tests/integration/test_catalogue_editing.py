"""The admin's catalogue use cases against the database: slugs, SKUs, rollback, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from store.admin.services import catalogue
from store.admin.services.catalogue import FulfilmentLocked
from store.audit.models import Actor, AuditEvent
from store.catalogue import services as storefront
from store.catalogue.editing import PlanData, ProductData, SkuTaken, SlugTaken, slug_from
from store.catalogue.models import Audience, Fulfilment, OldSlug, Plan, Platform, Product
from store.extensions import db
from store.licensing.models import PoolKey, PoolKeyState
from store.money import Money
from tests.factories import make_pool, make_product

ADMIN = Actor("admin@example.com", 1)
HOGAR = ProductData(name="Almiquí Hogar", summary="Para casa", description="",
                    platform=Platform.WINDOWS, audience=Audience.HOME)


def plan_data(**fields) -> PlanData:
    values = {"name": "1 año · 1 PC", "sku": "AH-1", "duration_days": 365, "seats": 1,
              "price": Money(5000, "CUP")}
    return PlanData(**{**values, **fields})


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "uploads"


@pytest.mark.parametrize(("name", "slug"), [
    ("Almiquí Móvil Plus", "almiqui-movil-plus"),
    ("  ¡¡Escudo   Web!! 2026 ", "escudo-web-2026"),
    ("Straße & Co.", "strasse-co"),
    ("日本語", "producto"),
    ("a" * 200, "a" * 74),
])
def test_a_slug_is_the_name_without_accents_in_lower_case_joined_by_hyphens(name, slug):
    assert slug_from(name) == slug


@pytest.mark.usefixtures("app_context")
def test_a_new_product_does_not_take_a_slug_kept_as_an_old_one(folder):
    owner = make_product(slug="other")
    db.session.flush()
    db.session.add(OldSlug(product_id=owner.id, slug="almiqui-hogar"))
    db.session.commit()

    product_id = catalogue.create_product(ADMIN, HOGAR, folder=folder)

    assert db.session.get(Product, product_id).slug == "almiqui-hogar-2"


@pytest.mark.usefixtures("app_context")
def test_a_product_may_take_back_its_own_old_slug_and_every_old_one_leads_to_the_newest(folder):
    product_id = catalogue.create_product(ADMIN, HOGAR, folder=folder)
    for slug in ("hogar", "casa", "almiqui-hogar"):
        catalogue.update_product(ADMIN, product_id, HOGAR, slug=slug, folder=folder)

    kept = set(db.session.scalars(sa.select(OldSlug.slug)))
    assert db.session.get(Product, product_id).slug == "almiqui-hogar"
    assert kept == {"hogar", "casa"}
    assert storefront.moved_to("hogar") == storefront.moved_to("casa") == "almiqui-hogar"


@pytest.mark.usefixtures("app_context")
def test_a_refused_slug_changes_nothing_and_writes_no_audit_event_or_image_file(folder):
    make_product(slug="casa")
    db.session.commit()
    product_id = catalogue.create_product(ADMIN, HOGAR, folder=folder)
    renamed = ProductData(**{**HOGAR.__dict__, "name": "Otro nombre"})

    with pytest.raises(SlugTaken):
        catalogue.update_product(ADMIN, product_id, renamed, slug="casa", folder=folder,
                                 image={"card": b"card", "page": b"page"})

    assert list(folder.glob("*")) == []  # the refused change's image files are gone
    product = db.session.get(Product, product_id)
    assert (product.name, product.slug) == ("Almiquí Hogar", "almiqui-hogar")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "product.update")) == 0


@pytest.mark.usefixtures("app_context")
def test_an_edit_that_changes_nothing_writes_no_audit_event(folder):
    product_id = catalogue.create_product(ADMIN, HOGAR, folder=folder)

    catalogue.update_product(ADMIN, product_id, HOGAR, slug="almiqui-hogar", folder=folder)

    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions == ["product.create"]


def test_two_admins_adding_the_same_sku_at_once_get_one_plan_and_one_field_error(
        app, run_at_once):
    with app.app_context():
        product = make_product(plans=[])
        db.session.commit()
        product_id = product.id

    results = run_at_once(2, lambda i: catalogue.create_plan(ADMIN, product_id, plan_data()))

    assert sorted(type(result).__name__ for result in results) == ["SkuTaken", "int"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 1


@pytest.mark.usefixtures("app_context")
def test_a_refused_fulfilment_switch_rolls_back_every_other_change():
    product = make_product(plans=[{"sku": "AH-1", "fulfilment": Fulfilment.POOL}])
    plan = product.plans[0]
    make_pool(plan, 2)
    db.session.flush()
    db.session.execute(sa.update(PoolKey).values(state=PoolKeyState.RESERVED))
    db.session.commit()

    with pytest.raises(FulfilmentLocked):
        catalogue.update_plan(ADMIN, plan.id, plan_data(
            fulfilment=Fulfilment.GENERATED, price=Money(9900, "CUP"), name="Nuevo"))

    plan = db.session.get(Plan, plan.id)
    assert (plan.fulfilment, plan.price_minor) == (Fulfilment.POOL, 5000)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


@pytest.mark.usefixtures("app_context")
def test_a_plan_edit_audits_only_the_fields_that_changed():
    product = make_product(plans=[{"sku": "AH-1", "name": "1 año · 1 PC",
                                   "low_stock_threshold": 10}])
    db.session.commit()

    catalogue.update_plan(ADMIN, product.plans[0].id, plan_data(price=Money(125050, "CUP")))

    event = db.session.scalar(sa.select(AuditEvent))
    assert (event.action, event.actor, event.actor_id) == ("plan.update", "admin@example.com", 1)
    assert event.details["changes"] == {"price_minor": [5000, 125050]}


@pytest.mark.usefixtures("app_context")
def test_a_sku_taken_by_another_plan_is_refused_on_edit():
    product = make_product(plans=[{"sku": "AH-1"}, {"sku": "AH-2"}])
    db.session.commit()

    with pytest.raises(SkuTaken):
        catalogue.update_plan(ADMIN, product.plans[1].id, plan_data(sku="AH-1"))
