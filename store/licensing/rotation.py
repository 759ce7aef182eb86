"""Re-seal stored keys under the newest vault key (``flask store rotate-keys``)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from store.extensions import db
from store.licensing import get_vault
from store.licensing.models import Licence, PoolKey


def rotate_keys(
    *, batch_size: int = 500, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Re-encrypt every licence and pool key sealed by an older vault key.

    Commits one transaction per batch, so it can be stopped and run again; rows already
    under the newest key are left alone. Returns the count re-sealed per table.
    """
    vault = get_vault()
    counts = {}
    for model in (PoolKey, Licence):
        done = 0
        while True:
            rows = db.session.scalars(
                select(model)
                .where(model.vault_key_id != vault.newest_id)
                .order_by(model.id)
                .limit(batch_size)
                .with_for_update()
            ).all()
            if not rows:
                break
            for row in rows:
                sealed = vault.reseal(row.ciphertext, row.vault_key_id, row.lookup_hash)
                row.ciphertext, row.vault_key_id = sealed.ciphertext, sealed.key_id
            db.session.commit()
            done += len(rows)
            if progress:
                progress(len(rows))
        counts[model.__tablename__] = done
    return counts
