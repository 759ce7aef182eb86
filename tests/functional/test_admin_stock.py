"""Key stock in the back office: the counts per pool plan, and importing a key file from
the browser through the same import service as ``flask store import-keys``."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
import sqlalchemy as sa

from store.audit.models import AuditEvent
from store.catalogue.models import Fulfilment
from store.extensions import db
from store.licensing.models import PoolKey, PoolKeyState
from store.vault import reveal
from tests.factories import make_order, make_plan, make_pool, make_product

KEYS = "VEND-AAAA-0001\nVEND-BBBB-0002\nVEND-CCCC-0003\n"


@pytest.fixture
def plans(app) -> dict[str, int]:
    """A pool plan (AM-POOL, threshold 10) with 3 keys, and a plan of generated keys."""
    with app.app_context():
        product = make_product(name="Almiquí Hogar", plans=[])
        pool = make_plan(product, sku="AM-POOL", name="1 año · 1 PC",
                         fulfilment=Fulfilment.POOL, low_stock_threshold=10)
        generated = make_plan(product, sku="AM-GEN")
        db.session.flush()
        make_pool(pool, 3)
        db.session.commit()
        return {"pool": pool.id, "generated": generated.id}


def upload(admin, plan_id, content: bytes | str, name: str = "keys.txt", **extra):
    data = content.encode() if isinstance(content, str) else content
    return admin.client.post("/admin/existencias/importar", data={
        "plan_id": str(plan_id), "key_file": (io.BytesIO(data), name), **extra,
    }, content_type="multipart/form-data")


def text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def field_errors(response) -> list[str]:
    return [unescape(e) for e in re.findall(r'class="field-error">(.*?)</p>',
                                            response.get_data(as_text=True))]


def test_the_stock_page_counts_each_pool_plans_keys_and_flags_low_stock(app, admin, plans):
    with app.app_context():
        keys = db.session.scalars(sa.select(PoolKey).order_by(PoolKey.id)).all()
        keys[0].state = PoolKeyState.RESERVED
        keys[1].state = PoolKeyState.ISSUED
        db.session.commit()

    page = admin.client.get("/admin/existencias")

    assert page.status_code == 200
    html = text(page)
    row = re.search(r"<tr> <td>Almiquí Hogar</td>.*?</tr>", html)[0]
    assert re.findall(r'<td class="number">(\d+)</td>', row) == ["1", "1", "1", "10"]
    assert "Existencias bajas" in row
    assert "AM-GEN" not in html  # generated keys have no stock


def test_the_stock_page_issues_the_same_number_of_queries_for_one_plan_or_many(
    app, admin, count_queries, plans
):
    admin.client.get("/admin/existencias")
    with count_queries() as one:
        admin.client.get("/admin/existencias")
    with app.app_context():
        for n in range(5):
            plan = make_plan(make_product(plans=[]), fulfilment=Fulfilment.POOL)
            db.session.flush()
            make_pool(plan, 2, prefix=f"P{n}")
        db.session.commit()
    with count_queries() as many:
        admin.client.get("/admin/existencias")

    assert many.count == one.count


def test_an_uploaded_file_is_imported_with_the_counts_and_an_audit_event(app, admin, plans):
    content = KEYS + "VEND-AAAA-0001\nshort\n" + f"VENDOR-AM-POOL-{0:06d}\n"

    response = upload(admin, plans["pool"], content)

    assert response.status_code == 200
    html = text(response)
    assert "Importación terminada" in html
    counts = dict(re.findall(r"<dt>(.*?)</dt><dd>(\d+)</dd>", html))
    assert counts == {"Importadas": "3", "Repetidas en el archivo": "1",
                      "Ya en la tienda": "1", "Líneas no válidas": "1"}
    assert "Línea 5: demasiado corta" in html
    assert "VEND-AAAA-0001" not in html  # the page never shows keys
    with app.app_context():
        stored = {reveal(k) for k in db.session.scalars(sa.select(PoolKey))}
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "pool.import"))
        assert {"VEND-AAAA-0001", "VEND-BBBB-0002", "VEND-CCCC-0003"} <= stored
        assert len(stored) == 6
        assert (event.actor, event.subject_type, event.subject_id) == (
            "admin@example.com", "plan", plans["pool"])
        assert event.details == {"imported": 3, "duplicates_in_file": 1,
                                 "already_in_store": 1, "invalid": 1}


def test_a_dry_run_reports_the_counts_and_writes_nothing(app, admin, plans, count):
    response = upload(admin, plans["pool"], KEYS, dry_run="y")

    assert response.status_code == 200
    html = text(response)
    assert "Simulación: no se importó nada" in html
    assert dict(re.findall(r"<dt>(.*?)</dt><dd>(\d+)</dd>", html))["Se importarían"] == "3"
    assert count(PoolKey) == 3
    assert count(AuditEvent, AuditEvent.action == "pool.import") == 0


def test_the_invalid_lines_shown_are_capped_with_how_many_more(admin, plans):
    response = upload(admin, plans["pool"], "bad\n" * 250)

    html = text(response)
    assert html.count("<li>Línea ") == 100
    assert "… y 150 líneas no válidas más." in html


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("keys.txt", bytes(range(256)) * 4, "no es texto UTF-8"),
        ("keys.txt", "KEY-1\nCLAVE-Ñ\n".encode("latin-1"), "no es texto UTF-8"),
        ("keys.csv", "id,serial\n1,VEND-AAAA-0001\n", "no tiene una columna «key»"),
        ("keys.txt", b"", "El archivo está vacío."),
    ],
    ids=["binary", "latin-1", "csv-without-key-column", "empty"],
)
def test_a_file_that_is_not_a_key_list_is_refused_whole(app, admin, plans, count, name,
                                                        content, message):
    response = upload(admin, plans["pool"], content, name)

    assert response.status_code == 400
    assert any(message in error for error in field_errors(response))
    assert count(PoolKey) == 3
    assert count(AuditEvent, AuditEvent.action == "pool.import") == 0


def test_a_plan_of_generated_keys_is_refused(admin, plans, count):
    response = upload(admin, plans["generated"], KEYS)

    assert response.status_code == 400
    assert field_errors(response) == ["Opción inválida."]
    assert count(PoolKey) == 3


def test_a_missing_file_or_plan_is_a_field_error(admin, plans):
    response = admin.client.post("/admin/existencias/importar", data={},
                                 content_type="multipart/form-data")

    assert response.status_code == 400
    assert set(field_errors(response)) == {"Elige un plan.", "Elige el archivo con las claves."}


def test_a_file_larger_than_the_stores_request_limit_but_under_20_mb_is_imported(
    admin, plans, count
):
    filler = ("x" * 1023 + "\n") * 3 * 1024  # 3 MB, over the 2 MB of other requests
    response = upload(admin, plans["pool"], KEYS + filler)

    assert response.status_code == 200
    assert count(PoolKey) == 6
    assert "… y 2972 líneas no válidas más." in text(response)


def test_a_file_over_20_mb_is_refused_with_a_clear_message_and_nothing_written(
    admin, plans, count
):
    response = upload(admin, plans["pool"], KEYS + "x" * (21 * 1024 * 1024))

    assert response.status_code == 413
    assert field_errors(response) == [
        "El archivo supera los 20 MB. Divídelo e importa cada parte."]
    assert count(PoolKey) == 3


def test_only_admins_may_send_large_bodies_to_the_import(app, plans, desk):
    from store.accounts.models import Role

    support = desk.signed_in("soporte@example.com", Role.SUPPORT)
    response = upload(support, plans["pool"], "x" * (3 * 1024 * 1024))

    assert response.status_code == 413
    assert "Importar claves" not in response.get_data(as_text=True)


def test_the_import_page_preselects_the_plan_from_the_stock_page(admin, plans):
    html = admin.client.get(f"/admin/existencias/importar?plan={plans['pool']}").get_data(
        as_text=True)

    assert f'<option selected value="{plans["pool"]}">' in html


