"""Keys at rest: never in plain text in the database; rotation re-seals every row."""

from __future__ import annotations

import sqlalchemy as sa

from store.accounts.models import Role
from store.catalogue.models import Fulfilment, Plan
from store.extensions import db
from store.licensing import services
from store.licensing.importing import import_pool
from store.licensing.models import Licence, PoolKey
from store.orders.models import Order
from store.orders.services import order_link
from store.staff.models import SecondFactor
from store.unit_of_work import use_case
from store.vault import new_secret, reveal
from store.vault_rotation import rotate_keys
from tests.conftest import StaffDesk
from tests.factories import make_order, make_plan, make_product


def every_stored_value() -> list[bytes]:
    """Every value of every row of every table, read raw, as bytes."""
    values = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.text(f'SELECT * FROM "{table.name}"')):
                for value in row:
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    values.append(value if isinstance(value, bytes) else str(value).encode())
    return values


def spellings(key: str) -> set[bytes]:
    bare = key.replace("-", "")
    return {form.encode() for form in (key, bare, key.lower(), bare.lower())}


def test_no_key_is_stored_in_plain_text_after_import_and_issuance(app):
    with app.app_context():
        product = make_product(plans=[])
        pool = make_plan(product, sku="POOL", fulfilment=Fulfilment.POOL)
        generated = make_plan(product, sku="GEN")
        db.session.commit()
        vendor_keys = [f"VND7-{i:04d}-QX9Z" for i in range(5)]
        import_pool(pool, enumerate(vendor_keys, start=1))
        orders = [make_order(generated, quantity=2), make_order(pool, quantity=2)]
        db.session.commit()
        with use_case() as uow:
            issued = [lic for order in orders for lic in services.issue(order.lines[0])]
            uow.commit()
        plain = vendor_keys + [reveal(lic) for lic in issued]

        stored = every_stored_value()

    assert len(issued) == 4 and len(set(plain)) == 7  # 5 vendor keys (2 issued), 2 generated
    assert sum(1 for value in stored if value) > 50  # the scan really read the rows
    leaks = [key for key in plain for form in spellings(key) for value in stored if form in value]
    assert leaks == []


def test_rotate_keys_re_seals_every_row_under_the_newest_key(make_app, tmp_path):
    old = f"old:{new_secret()}"
    lookup = new_secret()
    before = make_app(STORE_VAULT_KEYS=old, STORE_VAULT_LOOKUP_KEY=lookup)
    with before.app_context():
        plan = make_plan(make_product(plans=[]), sku="POOL", fulfilment=Fulfilment.POOL)
        db.session.commit()
        import_pool(plan, enumerate(["VEND-0001-X", "VEND-0002-X", "VEND-0003-X"], start=1))
        order = make_order(plan)
        generated_order = make_order(make_plan(plan.product, sku="GEN"), quantity=2)
        db.session.commit()
        with use_case() as uow:
            services.issue(order.lines[0])
            services.issue(generated_order.lines[0])
            uow.commit()
        plain = {lic.id: reveal(lic) for lic in db.session.scalars(sa.select(Licence))}
    secret = StaffDesk(before).enrol(StaffDesk(before).hire("admin@example.com", Role.ADMIN))[0]

    after = make_app(STORE_VAULT_KEYS=f"new:{new_secret()},{old}", STORE_VAULT_LOOKUP_KEY=lookup)
    result = after.test_cli_runner().invoke(args=["store", "rotate-keys"])

    assert result.exit_code == 0, result.output
    assert "3 claves importadas, 3 licencias y 0 enlaces de pedidos" in result.output
    with after.app_context():
        assert set(db.session.scalars(sa.select(PoolKey.vault_key_id))) == {"new"}
        assert set(db.session.scalars(sa.select(Licence.vault_key_id))) == {"new"}
        licences = db.session.scalars(sa.select(Licence)).all()
        assert {lic.id: reveal(lic) for lic in licences} == plain
        factor = db.session.scalar(sa.select(SecondFactor))
        assert factor.vault_key_id == "new" and reveal(factor) == secret
        db.session.rollback()
        assert rotate_keys().counts == {"pool_key": 0, "licence": 0, "order_access": 0,
                                        "staff_second_factor": 0}


def test_rotate_keys_reports_rows_no_configured_key_opens_and_carries_on(make_app):
    lookup = new_secret()
    lost = make_app(STORE_VAULT_KEYS=f"lost:{new_secret()}", STORE_VAULT_LOOKUP_KEY=lookup)
    with lost.app_context():
        plan = make_plan(make_product(plans=[]), sku="POOL", fulfilment=Fulfilment.POOL)
        db.session.commit()
        import_pool(plan, enumerate(["VEND-LOST-0001"], start=1))
    kept = f"kept:{new_secret()}"
    middle = make_app(STORE_VAULT_KEYS=kept, STORE_VAULT_LOOKUP_KEY=lookup)
    with middle.app_context():
        import_pool(db.session.scalar(sa.select(Plan)), enumerate(["VEND-KEPT-0001"], start=1))

    after = make_app(STORE_VAULT_KEYS=f"new:{new_secret()},{kept}", STORE_VAULT_LOOKUP_KEY=lookup)
    result = after.test_cli_runner().invoke(args=["store", "rotate-keys"])

    assert result.exit_code == 1
    assert "1 claves importadas, 0 licencias y 0 enlaces de pedidos" in result.output
    assert "no encryption key with id 'lost'" in result.output
    with after.app_context():
        ids = sorted(db.session.scalars(sa.select(PoolKey.vault_key_id)))
    assert ids == ["lost", "new"]


def test_the_order_link_token_is_random_and_never_stored_in_plain_text(app, till):
    order_id, _reference = till.check_out_generated()
    with app.app_context():
        order = db.session.get(Order, order_id)
        token = reveal(order.access)
        stored = every_stored_value()
        assert len(token) == 40 and order_link(order).endswith(f"?t={token}")
    assert not [value for value in stored if token.encode() in value.lower()]
