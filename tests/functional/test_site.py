"""Health checks, error pages and JSON problems, security headers, CLI."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import abort

from store import create_app
from store.catalogue.models import Plan, Product
from store.errors import Forbidden, InvalidInput
from store.extensions import db
from tests.conftest import config_for_tests


def test_healthz_answers_without_the_database(tmp_path):
    url = f"sqlite:///{tmp_path}/no/such/directory/store.sqlite3"
    app = create_app(config_for_tests(tmp_path / "instance", url))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ok_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_503_with_a_reason_when_sqlite_is_unreachable(tmp_path):
    url = f"sqlite:///{tmp_path}/no/such/directory/store.sqlite3"
    app = create_app(config_for_tests(tmp_path / "instance", url))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "reason": "database unreachable"}


def test_readyz_is_503_when_postgresql_is_unreachable(tmp_path):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    url = "postgresql+psycopg://postgres@127.0.0.1:1/store?connect_timeout=2"
    app = create_app(config_for_tests(tmp_path, url))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["reason"] == "database unreachable"


@pytest.fixture
def failing_app(make_app):
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("unexpected")

    @app.get("/api/boom")
    def api_boom():
        raise RuntimeError("unexpected")

    @app.get("/staff-only")
    def staff_only():
        raise Forbidden()

    @app.get("/range")
    def unusual_status():
        abort(416)

    @app.get("/api/refused")
    def api_refused():
        raise InvalidInput("quantity must be between 1 and 50")

    return app


def test_an_unexpected_error_is_a_spanish_500_page_in_the_layout(failing_app):
    response = failing_app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Algo salió mal" in html and 'class="site-header"' in html
    assert "RuntimeError" not in html and "unexpected" not in html


def test_an_unusual_http_error_still_has_a_spanish_title(failing_app):
    response = failing_app.test_client().get("/range")
    html = response.get_data(as_text=True)
    assert response.status_code == 416
    assert "No se pudo completar la solicitud" in html
    assert "Range Not Satisfiable" not in html


def test_a_403_page_is_in_spanish(failing_app):
    response = failing_app.test_client().get("/staff-only")
    assert response.status_code == 403
    assert "Acceso denegado" in response.get_data(as_text=True)


def test_a_404_page_is_in_spanish_and_english(client):
    spanish = client.get("/no-such-page")
    english = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert spanish.status_code == english.status_code == 404
    assert "Página no encontrada" in spanish.get_data(as_text=True)
    assert "Page not found" in english.get_data(as_text=True)


def test_errors_under_api_are_problem_json(failing_app):
    client = failing_app.test_client()

    missing = client.get("/api/v1/nothing")
    crashed = client.get("/api/boom")
    refused = client.get("/api/refused")

    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.json["status"] == 404 and missing.json["title"] == "Página no encontrada"
    assert crashed.status_code == 500 and crashed.mimetype == "application/problem+json"
    assert "unexpected" not in crashed.get_data(as_text=True)
    assert refused.status_code == 400
    assert refused.json["detail"] == "quantity must be between 1 and 50"


def test_a_wrong_method_is_405_with_allow_header(client):
    response = client.post("/productos/")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "Método no permitido" in response.get_data(as_text=True)


def test_pages_carry_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Accept-Language" in response.headers["Vary"]


def test_a_fresh_instance_folder_is_created_even_with_a_secret_key_set(tmp_path):
    instance = tmp_path / "fresh" / "instance"
    app = create_app({
        "STORE_ENV": "development", "STORE_SECRET_KEY": "set-by-operator",
        "STORE_INSTANCE_PATH": str(instance),
    })
    with app.app_context():
        db.create_all()
    assert (instance / "store.sqlite3").exists()
    assert not (instance / "secret_key").exists()
    assert app.test_client().get("/readyz").status_code == 200


def test_seed_demo_command_loads_once_and_respects_if_empty(app):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["store", "seed-demo", "--if-empty"])
    second = runner.invoke(args=["store", "seed-demo"])
    third = runner.invoke(args=["store", "seed-demo", "--if-empty"])

    assert first.exit_code == second.exit_code == third.exit_code == 0
    assert "7 productos y 15 planes añadidos" in first.output
    assert "0 productos y 0 planes añadidos" in second.output
    assert "El catálogo ya tiene productos" in third.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 7
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 15


def test_seed_demo_command_refuses_an_unknown_option(app):
    result = app.test_cli_runner().invoke(args=["store", "seed-demo", "--wipe"])
    assert result.exit_code == 2
    assert "No such option '--wipe'" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0
