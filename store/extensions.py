"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

# Predictable constraint names, so Alembic can alter and drop them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()


def client_address() -> str:
    """The client's address: the peer, or what STORE_PROXY_HOPS trusted proxies forwarded."""
    return f"address:{request.remote_addr or 'unknown'}"


# Rate limits (store/ratelimit.py). Storage is STORE_REDIS_URL, else this process's memory.
# A Redis outage must not stop sales: errors are logged and limits fall back to memory.
limiter = Limiter(
    key_func=client_address, strategy="fixed-window", swallow_errors=True,
    in_memory_fallback_enabled=True, headers_enabled=False,
)

# Connection option that makes the next SQLite transaction begin with BEGIN IMMEDIATE.
IMMEDIATE_OPTION = "store_sqlite_immediate"


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave for a store: foreign keys on, WAL, waits instead of failing.

    SQLAlchemy, not the sqlite3 module, then starts every transaction, so a use case can
    start with ``BEGIN IMMEDIATE`` (see store/unit_of_work.py) and hold the write lock from
    its first read to its commit.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
