"""Import vendor keys into a pool plan from a plain list or a CSV file.

``import_keys(sku, path)`` is what the command line calls; ``import_key_file(plan_id,
source)`` is what the back office's upload calls, with the uploaded file as a binary
stream. Both read the file the same way, twice and streaming: ``check_key_file`` validates
it as a whole (UTF-8 text, a ``key`` column when it is a CSV) before anything is written,
so a bad file imports nothing; ``import_pool`` then seals and inserts the keys in batches,
one use case per batch, so a failure part-way never leaves a half-written batch. A real
import ends with an audit event (who, which plan, the counts; never a key).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.audit.models import Actor, record
from store.catalogue.models import Fulfilment, Plan
from store.dbtypes import utcnow
from store.extensions import db
from store.licensing import keys
from store.licensing.key_files import ImportFileError, KeySource, check_key_file, read_key_file
from store.licensing.models import Licence, PoolKey, PoolKeyState
from store.unit_of_work import use_case
from store.vault import get_vault, lookup_form

MAX_KEY_LENGTH = 200
MIN_KEY_LENGTH = 8  # letters and digits, once spaces and dashes are dropped
MAX_REPORTED_INVALID = 1000
MAX_SKU_LENGTH = 64


# Who imports from the command line, in the audit log.
COMMAND_LINE = Actor("cli")


class NotAPoolPlan(ImportFileError):
    """The plan does not exist or issues generated keys; nothing was imported."""


@dataclass(frozen=True)
class InvalidLine:
    line: int
    reason: str


@dataclass
class ImportReport:
    imported: int = 0
    duplicates_in_file: int = 0
    already_in_store: int = 0
    invalid_count: int = 0
    invalid: list[InvalidLine] = field(default_factory=list)  # the first 1000, in order
    dry_run: bool = False

    def add_invalid(self, line: int, reason: LazyString) -> None:
        self.invalid_count += 1
        if len(self.invalid) < MAX_REPORTED_INVALID:
            # Translated only for the lines kept: a file of a million bad lines stays quick.
            self.invalid.append(InvalidLine(line, str(reason)))


def _line_problem(key: str) -> LazyString | None:
    if not key:
        return _l("empty")
    if len(lookup_form(key)) < MIN_KEY_LENGTH:
        return _l("too short to be a key (%(min)d characters at least)", min=MIN_KEY_LENGTH)
    if len(key) > MAX_KEY_LENGTH:
        return _l("too long (more than %(max)d characters)", max=MAX_KEY_LENGTH)
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in key):
        return _l("contains control characters")
    if keys.in_store_format(key) and not _passes_check_group(key):
        # The licence API would answer it as a mistyped key of this store (INVALID_KEY).
        return _l("has the shape of this store's own keys (32 letters and digits) without "
                  "being one, so the antivirus program would take it for a typo")
    return None


def _passes_check_group(key: str) -> bool:
    try:
        keys.normalise(key)
    except keys.InvalidKey:
        return False
    return True


def check_pool_plan(plan: Plan | None, sku: str) -> Plan:
    """Return ``plan`` if keys can be imported into it; raise NotAPoolPlan otherwise."""
    if plan is None:
        raise NotAPoolPlan(_l("There is no plan with SKU “%(sku)s”.", sku=sku))
    if plan.fulfilment != Fulfilment.POOL:
        raise NotAPoolPlan(
            _l(
                "Plan “%(sku)s” issues generated keys; only pool plans take imported keys.",
                sku=plan.sku,
            )
        )
    return plan


def import_keys(
    sku: str,
    path: Path,
    *,
    dry_run: bool = False,
    batch_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import the vendor keys in the file at ``path`` into the pool plan with SKU ``sku``.

    The command line's import, audited as "cli". Raises ImportFileError, importing
    nothing, for an unknown SKU, a plan that issues generated keys, or a file that is not
    a key list. ``progress`` is called with the lines handled so far and the file's line
    count. One use case per batch (see import_pool).
    """
    if not sku or len(sku) > MAX_SKU_LENGTH or not sku.isascii() or not sku.isprintable():
        # Not echoed: it may not even be printable (a command-line argument in another
        # encoding arrives with lone surrogates).
        raise NotAPoolPlan(_l("A SKU is written with letters, digits and dashes."))
    plan = check_pool_plan(db.session.scalar(select(Plan).where(Plan.sku == sku)), sku)
    with open(path, "rb") as stream:
        return _import_from(plan, KeySource(path.name, stream), actor=COMMAND_LINE,
                            dry_run=dry_run, batch_size=batch_size, progress=progress)


def import_key_file(
    plan_id: int,
    source: KeySource,
    *,
    actor: Actor,
    dry_run: bool = False,
    batch_size: int = 1000,
) -> ImportReport:
    """Import the vendor keys in ``source`` (an uploaded file) into the pool plan ``plan_id``.

    Raises NotAPoolPlan for a missing plan or one that issues generated keys, and
    ImportFileError for a file that is not a key list; either way nothing is imported.
    One use case per batch (see import_pool), then one for the audit event.
    """
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise NotAPoolPlan(_l("There is no such plan."))
    check_pool_plan(plan, plan.sku)
    return _import_from(plan, source, actor=actor, dry_run=dry_run, batch_size=batch_size)


def _import_from(
    plan: Plan,
    source: KeySource,
    *,
    actor: Actor,
    dry_run: bool,
    batch_size: int,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check the whole file, import it in batches, and audit what a real import did."""
    key_file = check_key_file(source)
    report_progress = (lambda handled: progress(handled, key_file.lines)) if progress else None
    report = import_pool(
        plan, read_key_file(source), dry_run=dry_run, batch_size=batch_size,
        progress=report_progress, actor=actor,
    )
    if not dry_run:
        _record_import(plan.id, report, actor)
    return report


def _record_import(plan_id: int, report: ImportReport, actor: Actor) -> None:
    """Audit an import: who, into which plan, and the counts (never a key)."""
    with use_case() as uow:
        record(
            actor=actor, action="pool.import", subject=db.session.get(Plan, plan_id), reason="",
            imported=report.imported, duplicates_in_file=report.duplicates_in_file,
            already_in_store=report.already_in_store, invalid=report.invalid_count,
        )
        uow.commit()


def import_pool(
    plan: Plan,
    entries: Iterable[tuple[int, str]],
    *,
    dry_run: bool = False,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    actor: Actor | None = None,
) -> ImportReport:
    """Seal and add the keys in ``entries`` ((line number, raw key) pairs) to ``plan``'s pool.

    Skips (and counts) invalid lines, keys repeated in the file and keys already in the
    store. One use case per batch; ``dry_run`` writes nothing. ``progress`` is called with
    the number of lines handled after each batch. With an ``actor``, each batch that adds
    keys is audited in its own transaction, so an import stopped halfway is on record.
    """
    check_pool_plan(plan, plan.sku)
    vault = get_vault()
    report = ImportReport(dry_run=dry_run)
    seen: set[bytes] = set()
    batch: list[tuple[str, str]] = []
    handled = 0
    for number, raw in entries:
        handled += 1
        key = raw.strip()
        problem = _line_problem(key)
        if problem:
            report.add_invalid(number, problem)
            continue
        lookup = vault.lookup_hash(key)
        digest = bytes.fromhex(lookup)
        if digest in seen:
            report.duplicates_in_file += 1
            continue
        seen.add(digest)
        batch.append((key, lookup))
        if len(batch) >= batch_size:
            _store_batch(plan, batch, report, dry_run, actor)
            batch = []
        if progress and handled % batch_size == 0:
            progress(handled)
    if batch:
        _store_batch(plan, batch, report, dry_run, actor)
    if progress:
        progress(handled)
    return report


def _insert_ignoring_known(rows: list[dict]) -> int:
    """Insert pool keys, skipping any whose lookup hash arrived meanwhile; return the count."""
    dialect = db.session.get_bind().dialect.name
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert_(PoolKey)
        .on_conflict_do_nothing(index_elements=[PoolKey.lookup_hash])
        .returning(PoolKey.id)
    )
    return len(db.session.scalars(statement, rows).all())


def _store_batch(
    plan: Plan, batch: list[tuple[str, str]], report: ImportReport, dry_run: bool,
    actor: Actor | None = None,
) -> None:
    """Insert one batch as a use case of its own; it is rolled back whole on any error.

    Keys already stored, or stored by a concurrent import while this batch ran, are
    counted as already in the store. A dry run checks the batch and commits nothing.
    """
    lookups = [lookup for _key, lookup in batch]
    with use_case() as uow:
        known = {
            *db.session.scalars(select(PoolKey.lookup_hash).where(PoolKey.lookup_hash.in_(lookups))),
            *db.session.scalars(select(Licence.lookup_hash).where(Licence.lookup_hash.in_(lookups))),
        }
        fresh = [key for key, lookup in batch if lookup not in known]
        added = len(fresh)
        if fresh and not dry_run:
            vault, now = get_vault(), utcnow()
            rows = []
            for key in fresh:
                sealed = vault.seal(key)
                rows.append({
                    "plan_id": plan.id, "state": PoolKeyState.AVAILABLE, "imported_at": now,
                    "ciphertext": sealed.ciphertext, "vault_key_id": sealed.key_id,
                    "lookup_hash": sealed.lookup_hash,
                })
            added = _insert_ignoring_known(rows)
            if actor is not None and added:
                record(actor=actor, action="pool.import_batch", subject=plan, reason="",
                       imported=added)
            uow.commit()
    report.imported += added
    report.already_in_store += len(batch) - added
