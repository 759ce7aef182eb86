"""Users: customers, support staff and admins."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.dbtypes import UTCDateTime, db_enum, utcnow
from store.extensions import db


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    SUPPORT = "support"
    ADMIN = "admin"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {Role.CUSTOMER: _l("Customer"), Role.SUPPORT: _l("Support"), Role.ADMIN: _l("Admin")}


def normalise_email(email: str) -> str:
    """The one stored form of an address: trimmed and lower-cased (compared as such)."""
    return email.strip().lower()


class User(db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # normalised
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(db_enum(Role, "user_role"), default=Role.CUSTOMER)
    locale: Mapped[str] = mapped_column(String(8), default="es")
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session's and reset link's identity: raising it signs out every other
    # session and voids every reset link (a password change does it).
    auth_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Set by an admin: the account cannot sign in, and its sessions ended when it was set.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

    # Flask-Login's user protocol: login_user() refuses an inactive (disabled) user.
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    @property
    def is_authenticated(self) -> bool:
        return True

    def get_id(self) -> str:
        """The session's user id, tied to the current auth version (see auth_version)."""
        return f"{self.id}:{self.auth_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
