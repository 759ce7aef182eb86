"""Re-seal stored secrets under the newest vault key (``flask store rotate-keys``).

Every model with the vault's columns (``SealedKeyMixin``) is found through the mapper
registry, so a new kind of sealed secret is rotated without editing this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from store.extensions import db
from store.unit_of_work import use_case
from store.vault import SealedKeyMixin, VaultError, get_vault


@dataclass
class RotationResult:
    counts: dict[str, int] = field(default_factory=dict)  # table name -> rows re-sealed
    # (table, row id, why) for rows no configured key opens; they are left as they are.
    failures: list[tuple[str, int, str]] = field(default_factory=list)


def sealed_models() -> list[type]:
    """Every mapped class that keeps a secret in the vault, in table-name order."""
    models = {
        mapper.class_ for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, SealedKeyMixin)
    }
    return sorted(models, key=lambda model: model.__tablename__)


def rotate_keys(
    *, batch_size: int = 500, progress: Callable[[int], None] | None = None
) -> RotationResult:
    """Re-encrypt every sealed row sealed by an older vault key.

    One use case per batch, so it can be stopped and run again; rows already under the
    newest key are left alone, and so are rows no configured key can open (reported in
    the result). Locked rows (a sale in progress) are skipped this round.
    """
    vault = get_vault()
    result = RotationResult()
    for model in sealed_models():
        done, last_id = 0, 0
        while True:
            with use_case() as uow:
                rows = db.session.scalars(
                    select(model)
                    .where(model.vault_key_id != vault.newest_id, model.id > last_id)
                    .order_by(model.id)
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                ).all()
                for row in rows:
                    last_id = row.id
                    try:
                        sealed = vault.reseal(row.ciphertext, row.vault_key_id, row.lookup_hash)
                    except VaultError as error:
                        result.failures.append((model.__tablename__, row.id, str(error)))
                        continue
                    row.ciphertext, row.vault_key_id = sealed.ciphertext, sealed.key_id
                    done += 1
                uow.commit()
            if not rows:
                break
            if progress:
                progress(len(rows))
        result.counts[model.__tablename__] = done
    return result
