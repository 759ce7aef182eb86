"""Import vendor keys into a pool plan from a plain list or a CSV file.

``import_keys(sku, path)`` is the use case the command line (and later the back office's
upload) calls. The file is read twice, streaming: ``check_key_file`` validates it as a
whole (UTF-8 text, a ``key`` column when it is a CSV) before anything is written, so a bad
file imports nothing; ``import_pool`` then seals and inserts the keys in batches, one
use case per batch, so a failure part-way never leaves a half-written batch.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.catalogue.models import Fulfilment, Plan
from store.dbtypes import utcnow
from store.errors import InvalidInput
from store.extensions import db
from store.licensing.models import Licence, PoolKey, PoolKeyState
from store.unit_of_work import use_case
from store.vault import get_vault, lookup_form

MAX_KEY_LENGTH = 200
MIN_KEY_LENGTH = 8  # letters and digits, once spaces and dashes are dropped
MAX_LINE_READ = 4096  # characters of one line kept in memory; longer lines are invalid
MAX_REPORTED_INVALID = 1000
READ_CHUNK = 64 * 1024  # bytes read to tell a CSV from a plain list
MAX_SKU_LENGTH = 64


class ImportFileError(InvalidInput):
    """The file as a whole cannot be imported; nothing was imported."""

    title = _l("The key file cannot be imported")


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

    def add_invalid(self, line: int, reason: str) -> None:
        self.invalid_count += 1
        if len(self.invalid) < MAX_REPORTED_INVALID:
            self.invalid.append(InvalidLine(line, reason))


@dataclass(frozen=True)
class KeyFile:
    """What ``check_key_file`` learnt: the format and the number of lines, for progress."""

    path: Path
    is_csv: bool
    lines: int


def _text_lines(path: Path) -> Iterator[str]:
    """Yield the file's lines decoded as UTF-8, each ending in "\\n" but perhaps the last.

    A BOM is dropped; CRLF, LF and CR line ends all read as "\\n". Streams the file.
    Raises ImportFileError on binary content or another encoding.
    """
    number = 0
    with open(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline=None) as text:
        try:
            while line := text.readline(MAX_LINE_READ):
                number += 1
                if "\x00" in line:
                    raise ImportFileError(_l("This is a binary file, not a list of keys."))
                if not line.endswith("\n") and len(line) == MAX_LINE_READ:
                    # An absurdly long line: keep its start (it is invalid anyway), skip the rest.
                    while (rest := text.readline(MAX_LINE_READ)) and not rest.endswith("\n"):
                        pass
                    line += "\n"
                yield line
        except UnicodeDecodeError:
            raise ImportFileError(
                _l(
                    "The file is not UTF-8 text (near line %(line)d). Save it as UTF-8 and "
                    "try again.",
                    line=number + 1,
                )
            ) from None


def _looks_like_csv(path: Path, first_line: str) -> bool:
    return path.suffix.lower() == ".csv" or "," in first_line or ";" in first_line


def _csv_rows(lines: Iterator[str], first: str) -> Iterator[tuple[int, str]]:
    """Yield (first line number, key) of each CSV record after the header ``first``.

    Quoted fields may span lines; a record is numbered by the line it starts on.
    """
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:  # a single column: nothing to sniff
        dialect = csv.excel
    header = [name.strip().lower() for name in next(csv.reader([first], dialect), [])]
    if "key" not in header:
        raise ImportFileError(
            _l("The CSV file has no “key” column. Its first line must name the columns.")
        )
    column = header.index("key")
    reader = csv.reader(lines, dialect)
    while True:
        start = reader.line_num + 2  # the header was line 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise ImportFileError(
                _l("The CSV file is malformed near line %(line)d.", line=start)
            ) from None
        yield start, row[column] if column < len(row) else ""


def read_key_file(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, raw key) from a key list or a CSV with a ``key`` column."""
    lines = _text_lines(path)
    first = next(lines, None)
    if first is None:
        return
    if _looks_like_csv(path, first):
        yield from _csv_rows(lines, first)
        return
    yield 1, first.rstrip("\n")
    for number, line in enumerate(lines, start=2):
        yield number, line.rstrip("\n")


def check_key_file(path: Path) -> KeyFile:
    """Read the whole file once, streaming, and raise ImportFileError if it is unusable."""
    count = 0
    for count, _entry in enumerate(read_key_file(path), start=1):
        pass
    if count == 0:
        raise ImportFileError(_l("The file is empty."))
    with open(path, "rb") as handle:
        first = handle.readline(READ_CHUNK).decode("utf-8-sig", errors="replace")
    return KeyFile(path=path, is_csv=_looks_like_csv(path, first), lines=count)


def _line_problem(key: str) -> str | None:
    if not key:
        return str(_l("empty"))
    if len(lookup_form(key)) < MIN_KEY_LENGTH:
        return str(_l("too short to be a key (%(min)d characters at least)", min=MIN_KEY_LENGTH))
    if len(key) > MAX_KEY_LENGTH:
        return str(_l("too long (more than %(max)d characters)", max=MAX_KEY_LENGTH))
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in key):
        return str(_l("contains control characters"))
    return None


def check_pool_plan(plan: Plan | None, sku: str) -> Plan:
    """Return ``plan`` if keys can be imported into it; raise ImportFileError otherwise."""
    if plan is None:
        raise ImportFileError(_l("There is no plan with SKU “%(sku)s”.", sku=sku))
    if plan.fulfilment != Fulfilment.POOL:
        raise ImportFileError(
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

    Raises ImportFileError, importing nothing, for an unknown SKU, a plan that issues
    generated keys, or a file that is not a key list. ``progress`` is called with the lines
    handled so far and the file's line count. One use case per batch (see import_pool).
    """
    if not sku or len(sku) > MAX_SKU_LENGTH or not sku.isascii() or not sku.isprintable():
        # Not echoed: it may not even be printable (a command-line argument in another
        # encoding arrives with lone surrogates).
        raise ImportFileError(_l("A SKU is written with letters, digits and dashes."))
    plan = check_pool_plan(db.session.scalar(select(Plan).where(Plan.sku == sku)), sku)
    key_file = check_key_file(path)
    report_progress = (lambda handled: progress(handled, key_file.lines)) if progress else None
    return import_pool(
        plan, read_key_file(path), dry_run=dry_run, batch_size=batch_size,
        progress=report_progress,
    )


def import_pool(
    plan: Plan,
    entries: Iterable[tuple[int, str]],
    *,
    dry_run: bool = False,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Seal and add the keys in ``entries`` ((line number, raw key) pairs) to ``plan``'s pool.

    Skips (and counts) invalid lines, keys repeated in the file and keys already in the
    store. One use case per batch; ``dry_run`` writes nothing. ``progress`` is called with
    the number of lines handled after each batch.
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
            _store_batch(plan, batch, report, dry_run)
            batch = []
        if progress and handled % batch_size == 0:
            progress(handled)
    if batch:
        _store_batch(plan, batch, report, dry_run)
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
    plan: Plan, batch: list[tuple[str, str]], report: ImportReport, dry_run: bool
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
            uow.commit()
    report.imported += added
    report.already_in_store += len(batch) - added
