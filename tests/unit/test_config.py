"""Settings from STORE_* variables: safe in development, strict in production."""

from __future__ import annotations

import stat
from decimal import Decimal

import pytest

from store.config import ConfigurationError, load_config

PG = "postgresql+psycopg://store@db/store"


def test_development_generates_a_secret_key_once_and_keeps_it(tmp_path):
    first = load_config({}, tmp_path)
    second = load_config({}, tmp_path)
    key_file = tmp_path / "secret_key"
    assert first["SECRET_KEY"] == second["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first["SECRET_KEY"]) >= 40
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_development_defaults_to_an_sqlite_file_under_instance(tmp_path):
    config = load_config({}, tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'store.sqlite3'}"
    assert config["BABEL_DEFAULT_LOCALE"] == "es"
    assert config["SESSION_COOKIE_SECURE"] is False


def test_production_refuses_a_missing_secret_key(tmp_path):
    with pytest.raises(ConfigurationError, match="STORE_SECRET_KEY is not set"):
        load_config({"STORE_ENV": "production", "STORE_DATABASE_URL": PG}, tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_an_empty_secret_key(tmp_path):
    with pytest.raises(ConfigurationError, match="STORE_SECRET_KEY is not set"):
        load_config(
            {"STORE_ENV": "production", "STORE_DATABASE_URL": PG, "STORE_SECRET_KEY": ""},
            tmp_path,
        )


def test_production_refuses_sqlite_without_an_explicit_opt_in(tmp_path):
    environ = {"STORE_ENV": "production", "STORE_SECRET_KEY": "s" * 48,
               "STORE_STAFF_EMAIL": "ventas@example.test", "STORE_BASE_URL": "https://t.example",
               "STORE_REDIS_URL": "redis://127.0.0.1:6379/0"}
    with pytest.raises(ConfigurationError, match="STORE_ALLOW_SQLITE_IN_PRODUCTION"):
        load_config(environ, tmp_path)
    config = load_config({**environ, "STORE_ALLOW_SQLITE_IN_PRODUCTION": "1"}, tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_production_with_postgres_and_a_secret_starts_with_secure_cookies(tmp_path):
    config = load_config(
        {"STORE_ENV": "production", "STORE_SECRET_KEY": "s" * 48, "STORE_DATABASE_URL": PG,
         "STORE_STAFF_EMAIL": "ventas@example.test", "STORE_BASE_URL": "https://tienda.example/",
         "STORE_REDIS_URL": "redis://127.0.0.1:6379/0"},
        tmp_path,
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == PG
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["STORE_BASE_URL"] == "https://tienda.example"


PRODUCTION = {"STORE_ENV": "production", "STORE_SECRET_KEY": "s" * 48, "STORE_DATABASE_URL": PG,
              "STORE_STAFF_EMAIL": "ventas@example.test"}


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        (None, "STORE_BASE_URL is not set"),
        ("", "STORE_BASE_URL is not set"),
        ("http://tienda.example", "STORE_BASE_URL must start with https:// in production"),
        ("tienda.example", "STORE_BASE_URL must be an address"),
        ("https://tienda.example/?next=x", "STORE_BASE_URL must be an address"),
        ("https://user:pw@tienda.example", "STORE_BASE_URL must be an address"),
        ("https://tienda example.cu", "STORE_BASE_URL must be an address"),
    ],
    ids=["missing", "empty", "plain-http", "no-scheme", "query", "credentials", "space"],
)
def test_production_refuses_to_start_without_an_https_base_url(tmp_path, base_url, message):
    environ = dict(PRODUCTION) if base_url is None else {**PRODUCTION, "STORE_BASE_URL": base_url}
    with pytest.raises(ConfigurationError, match=message):
        load_config(environ, tmp_path)


def test_development_links_point_at_the_local_server_unless_told_otherwise(tmp_path):
    assert load_config({}, tmp_path)["STORE_BASE_URL"] == "http://127.0.0.1:5000"
    config = load_config({"STORE_BASE_URL": "http://192.168.1.5:8000/tienda/"}, tmp_path)
    assert config["STORE_BASE_URL"] == "http://192.168.1.5:8000/tienda"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"STORE_ENV": "staging"}, "STORE_ENV must be one of"),
        ({"STORE_PAGE_SIZE": "many"}, "STORE_PAGE_SIZE must be a whole number"),
        ({"STORE_PAGE_SIZE": "0"}, "STORE_PAGE_SIZE must be at least 1"),
        ({"STORE_SECURE_COOKIES": "maybe"}, "STORE_SECURE_COOKIES must be one of"),
        ({"STORE_DEFAULT_LOCALE": "fr"}, "STORE_DEFAULT_LOCALE must be one of"),
        ({"STORE_STAFF_LOCALE": "fr"}, "STORE_STAFF_LOCALE must be one of"),
        ({"STORE_STAFF_EMAIL": "Ventas <ventas@example.cu>"}, "one plain email address"),
        ({"STORE_STAFF_EMAIL": "a@example.cu, b@example.cu"}, "one plain email address"),
        ({"STORE_EXCHANGE_RATES": "USD=120"}, "STORE_EXCHANGE_RATES must list CODE:rate"),
        ({"STORE_EXCHANGE_RATES": "USD:0"}, "STORE_EXCHANGE_RATES must list CODE:rate"),
        ({"STORE_EXCHANGE_RATES": "usd:120"}, "STORE_EXCHANGE_RATES must list CODE:rate"),
        ({"STORE_EXCHANGE_RATES": "USD:1e3"}, "STORE_EXCHANGE_RATES must list CODE:rate"),
    ],
)
def test_malformed_settings_stop_start_up_with_the_variable_named(tmp_path, environ, message):
    with pytest.raises(ConfigurationError, match=message):
        load_config(environ, tmp_path)


def test_settings_are_read_from_the_environment(tmp_path):
    config = load_config(
        {"STORE_NAME": "Mi tienda", "STORE_PAGE_SIZE": "24", "STORE_DEFAULT_LOCALE": "en"},
        tmp_path,
    )
    assert config["STORE_NAME"] == "Mi tienda"
    assert config["STORE_PAGE_SIZE"] == 24
    assert config["BABEL_DEFAULT_LOCALE"] == "en"
    assert config["STORE_STAFF_LOCALE"] == "en"  # staff read the store's language by default
    assert config["STORE_EXCHANGE_RATES"] == {}
    assert load_config({"STORE_STAFF_LOCALE": "en"}, tmp_path)["STORE_STAFF_LOCALE"] == "en"


def test_workers_starting_together_share_one_generated_secret(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: load_config({}, tmp_path)["SECRET_KEY"], range(16)))
    assert len(keys) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no drafts left behind


def test_production_refuses_to_start_without_a_staff_address_for_alerts(tmp_path):
    environ = {"STORE_ENV": "production", "STORE_SECRET_KEY": "s" * 48, "STORE_DATABASE_URL": PG}
    with pytest.raises(ConfigurationError, match="STORE_STAFF_EMAIL is not set"):
        load_config(environ, tmp_path)
    assert load_config({}, tmp_path)["STORE_STAFF_EMAIL"] == "staff@localhost"


def test_exchange_rates_are_read_as_exact_decimals(tmp_path):
    config = load_config({"STORE_EXCHANGE_RATES": "USD:120.00, EUR:130.5"}, tmp_path)
    assert config["STORE_EXCHANGE_RATES"] == {"USD": Decimal("120.00"), "EUR": Decimal("130.5")}


def test_the_staff_address_is_kept_trimmed(tmp_path):
    config = load_config({"STORE_STAFF_EMAIL": "  ventas@example.cu "}, tmp_path)
    assert config["STORE_STAFF_EMAIL"] == "ventas@example.cu"


@pytest.mark.parametrize("value", ["often", "10 per fortnight", ""])
def test_a_rate_limit_that_does_not_read_as_n_per_period_stops_start_up(tmp_path, value):
    with pytest.raises(ConfigurationError, match="STORE_LIMIT_ORDER_LINK must be a rate"):
        load_config({"STORE_LIMIT_ORDER_LINK": value}, tmp_path)


def test_rate_limits_use_memory_without_redis_and_redis_under_the_store_prefix(tmp_path):
    assert load_config({}, tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://"
    config = load_config({"STORE_REDIS_URL": "redis://127.0.0.1:6379/2",
                          "STORE_REDIS_PREFIX": "tienda"}, tmp_path)
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/2"
    assert config["RATELIMIT_STORAGE_OPTIONS"]["key_prefix"] == "tienda:limits"
    with pytest.raises(ConfigurationError, match="STORE_REDIS_URL must be an address"):
        load_config({"STORE_REDIS_URL": "http://127.0.0.1:6379"}, tmp_path)


def test_production_refuses_per_process_rate_limits_unless_allowed(tmp_path):
    environ = {**PRODUCTION, "STORE_BASE_URL": "https://tienda.example"}
    with pytest.raises(ConfigurationError, match="STORE_REDIS_URL is not set"):
        load_config(environ, tmp_path)
    config = load_config({**environ, "STORE_ALLOW_MEMORY_LIMITS_IN_PRODUCTION": "1"}, tmp_path)
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_pool_caps_take_a_percentage_and_proxy_hops_may_be_zero(tmp_path):
    with pytest.raises(ConfigurationError, match="STORE_POOL_MAX_SHARE_PERCENT"):
        load_config({"STORE_POOL_MAX_SHARE_PERCENT": "150"}, tmp_path)
    assert load_config({"STORE_PROXY_HOPS": "0"}, tmp_path)["STORE_PROXY_HOPS"] == 0
    with pytest.raises(ConfigurationError, match="STORE_PAGE_SIZE must be at least 1"):
        load_config({"STORE_PAGE_SIZE": "0"}, tmp_path)


@pytest.mark.parametrize("name", ["STORE_ENZONA_TIMEOUT", "STORE_STRIPE_TIMEOUT"])
@pytest.mark.parametrize("seconds", ["0", "-5", "3600"])
def test_a_provider_timeout_out_of_range_is_refused_at_start_up(tmp_path, name, seconds):
    with pytest.raises(ConfigurationError, match=f"{name} must be"):
        load_config({name: seconds}, tmp_path)


def test_the_support_address_is_the_contact_address_unless_set(tmp_path):
    default = load_config({"STORE_CONTACT_EMAIL": "hola@tienda.example"}, tmp_path)
    own = load_config({"STORE_SUPPORT_EMAIL": " soporte@tienda.example ",
                       "STORE_SUPPORT_URL": "https://wa.me/5355550100"}, tmp_path)

    assert (default["STORE_SUPPORT_EMAIL"], default["STORE_SUPPORT_URL"]) == (
        "hola@tienda.example", None)
    assert (own["STORE_SUPPORT_EMAIL"], own["STORE_SUPPORT_URL"]) == (
        "soporte@tienda.example", "https://wa.me/5355550100")


@pytest.mark.parametrize(("name", "value"), [
    ("STORE_SUPPORT_URL", "http://ayuda.tienda.example/"),
    ("STORE_SUPPORT_URL", "ayuda.tienda.example"),
    ("STORE_SUPPORT_EMAIL", "Soporte <soporte@tienda.example>"),
])
def test_a_support_setting_that_is_not_an_https_address_or_one_mailbox_is_refused(
    tmp_path, name, value
):
    with pytest.raises(ConfigurationError, match=name):
        load_config({name: value}, tmp_path)


def test_reminder_days_are_read_largest_first_without_repeats(tmp_path):
    assert load_config({}, tmp_path)["STORE_REMINDER_DAYS_BEFORE"] == (30, 7, 1)
    config = load_config({"STORE_REMINDER_DAYS_BEFORE": " 7, 30,1,7 "}, tmp_path)
    assert config["STORE_REMINDER_DAYS_BEFORE"] == (30, 7, 1)


@pytest.mark.parametrize("raw", ["", "30,,7", "30;7", "0", "-1", "7.5", "1000", "treinta"])
def test_reminder_days_that_are_not_whole_days_are_refused(tmp_path, raw):
    with pytest.raises(ConfigurationError, match="STORE_REMINDER_DAYS_BEFORE must list whole"):
        load_config({"STORE_REMINDER_DAYS_BEFORE": raw}, tmp_path)


def test_a_reminder_after_the_renewal_window_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="STORE_REMINDER_DAYS_AFTER must be fewer"):
        load_config({"STORE_REMINDER_DAYS_AFTER": "90", "STORE_RENEWAL_WINDOW_DAYS": "90"},
                    tmp_path)
