"""Fixtures of the page tests: the app keeps sent emails in memory."""

from __future__ import annotations

import pytest

from store.catalogue.demo import seed_demo_catalogue
from store.catalogue.models import Fulfilment
from store.extensions import db
from tests.factories import make_pool, make_product


@pytest.fixture
def app(make_app):
    return make_app(STORE_MAIL_TRANSPORT="memory")


@pytest.fixture
def demo(app) -> None:
    """The demo catalogue of ``flask store seed-demo``: seven products, fifteen plans."""
    with app.app_context():
        seed_demo_catalogue()


@pytest.fixture
def plans(app) -> dict[str, int]:
    """A generated plan at 50.00 CUP and a pool plan at 150.00 CUP with two keys."""
    with app.app_context():
        product = make_product(name="Almiquí Hogar", plans=[
            {"name": "1 año · 1 PC", "price_minor": 5000},
            {"name": "Servidor", "price_minor": 15000, "fulfilment": Fulfilment.POOL},
        ])
        db.session.commit()
        make_pool(product.plans[1], 2)
        db.session.commit()
        return {"generated": product.plans[0].id, "pool": product.plans[1].id}
