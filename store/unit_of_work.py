"""One shape for every use case: ``with use_case() as uow: ... uow.commit()``.

A use case (a service that changes the database) begins its transaction here, commits it
once through ``uow.commit()``, and is rolled back on any exception or when it leaves the
block without committing. Steps that a use case calls (reserving keys, queueing an
email, writing an audit event) only flush, and call ``require_write()`` when they need a
serial transaction.

SQLite has no row locks, so a use case there starts with ``BEGIN IMMEDIATE``: concurrent
writers queue up from their first read to their commit. PostgreSQL starts a plain
transaction; the steps take row locks (``FOR UPDATE``, ``SKIP LOCKED`` for pools).

A caller that expects an IntegrityError (a double submit racing to a unique key) catches it
outside the block: the transaction has already been rolled back, so the session is ready
for the query that decides what the error meant.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from store.extensions import IMMEDIATE_OPTION, db

# Keys of Session.info: a use case is open; writes were flushed and not yet committed.
IN_USE_CASE = "store_in_use_case"
FLUSHED = "store_flushed_writes"


@event.listens_for(Session, "after_flush")
def _remember_flushed_writes(session: Session, flush_context) -> None:
    session.info[FLUSHED] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_flushed_writes(session: Session) -> None:
    session.info.pop(FLUSHED, None)


class UnitOfWork:
    """The transaction of one use case; ``commit()`` once, when every step succeeded."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.committed = False

    def commit(self) -> None:
        if self.committed:
            raise RuntimeError("a use case commits once")
        self.session.commit()
        self.committed = True


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


@contextmanager
def use_case() -> Iterator[UnitOfWork]:
    """Begin a use case's write transaction; roll it back unless ``uow.commit()`` ran.

    A read-only transaction the caller left open (a view that loaded the order first) is
    ended; loaded objects simply reload. Raises RuntimeError, discarding nothing, when
    another use case is open (use cases do not nest: call steps instead) or when changes
    were made outside a use case, flushed or not.
    """
    session = db.session()
    if session.info.get(IN_USE_CASE):
        raise RuntimeError("use cases do not nest; call the inner one's steps instead")
    if session.new or session.dirty or session.deleted or session.info.get(FLUSHED):
        raise RuntimeError("changes were made outside a use case; make them inside use_case()")
    if session.in_transaction():
        session.rollback()
    if _is_sqlite(session):
        session.connection(execution_options={IMMEDIATE_OPTION: True})
    uow = UnitOfWork(session)
    session.info[IN_USE_CASE] = True
    try:
        yield uow
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(IN_USE_CASE, None)
    if not uow.committed:
        session.rollback()


def require_write() -> None:
    """For steps: make sure the current transaction can write serially.

    On SQLite a transaction begun by ``use_case()`` is serial; with none open (a step
    called on its own, as the licensing tests do) one is begun. A plain SQLite transaction,
    begun by a read outside any use case, can no longer be made serial: RuntimeError.
    PostgreSQL needs nothing here (steps lock rows).
    """
    session = db.session()
    if not _is_sqlite(session):
        return
    if not session.in_transaction():
        session.connection(execution_options={IMMEDIATE_OPTION: True})
        return
    if not session.connection().get_execution_options().get(IMMEDIATE_OPTION):
        raise RuntimeError("this step must run inside use_case() on SQLite")


def lock(*rows: object) -> None:
    """Hold row locks on these loaded rows until the transaction ends (PostgreSQL).

    Locks in id order so two use cases locking the same rows never deadlock. SQLite is
    already serial inside a use case. Works on any mapped class, so a step can lock rows
    of a model it does not import.
    """
    by_model: dict[type, list[int]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(inspect(row).identity[0])
    for model, ids in by_model.items():
        key = inspect(model).primary_key[0]
        db.session.execute(select(key).where(key.in_(sorted(ids))).with_for_update())
