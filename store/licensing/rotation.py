"""Re-seal stored keys under the newest vault key (``flask store rotate-keys``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from store.extensions import begin_write, db
from store.licensing import get_vault
from store.licensing.models import Licence, PoolKey
from store.orders.models import OrderAccess
from store.licensing.vault import VaultError


@dataclass
class RotationResult:
    counts: dict[str, int] = field(default_factory=dict)
    # (table, row id, why) for rows no configured key opens; they are left as they are.
    failures: list[tuple[str, int, str]] = field(default_factory=list)


def rotate_keys(
    *, batch_size: int = 500, progress: Callable[[int], None] | None = None
) -> RotationResult:
    """Re-encrypt every licence and pool key sealed by an older vault key.

    Commits one transaction per batch, so it can be stopped and run again; rows already
    under the newest key are left alone, and so are rows no configured key can open
    (reported in the result). Locked rows (a sale in progress) are skipped this round.
    """
    vault = get_vault()
    result = RotationResult()
    for model in (PoolKey, Licence, OrderAccess):
        done, last_id = 0, 0
        while True:
            begin_write()
            rows = db.session.scalars(
                select(model)
                .where(model.vault_key_id != vault.newest_id, model.id > last_id)
                .order_by(model.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                db.session.rollback()
                break
            for row in rows:
                last_id = row.id
                try:
                    sealed = vault.reseal(row.ciphertext, row.vault_key_id, row.lookup_hash)
                except VaultError as error:
                    result.failures.append((model.__tablename__, row.id, str(error)))
                    continue
                row.ciphertext, row.vault_key_id = sealed.ciphertext, sealed.key_id
                done += 1
            db.session.commit()
            if progress:
                progress(len(rows))
        result.counts[model.__tablename__] = done
    return result
