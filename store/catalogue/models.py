"""Products and the plans customers buy."""

from __future__ import annotations

import enum
import unicodedata
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    event,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.dbtypes import UTCDateTime, db_enum, utcnow
from store.extensions import db
from store.money import Money


MAX_DOWNLOAD_URL_LENGTH = 500


class Platform(enum.StrEnum):
    WINDOWS = "windows"
    LINUX = "linux"
    ANDROID = "android"
    MACOS = "macos"
    MULTI = "multi"

    @property
    def label(self):
        return PLATFORM_LABELS[self]


class Audience(enum.StrEnum):
    HOME = "home"
    BUSINESS = "business"

    @property
    def label(self):
        return AUDIENCE_LABELS[self]


class Fulfilment(enum.StrEnum):
    GENERATED = "generated"
    POOL = "pool"


class PlanKind(enum.StrEnum):
    NEW = "new"
    RENEWAL = "renewal"


PLATFORM_LABELS = {
    Platform.WINDOWS: _l("Windows"),
    Platform.LINUX: _l("Linux"),
    Platform.ANDROID: _l("Android"),
    Platform.MACOS: _l("macOS"),
    Platform.MULTI: _l("Several platforms"),
}
AUDIENCE_LABELS = {Audience.HOME: _l("Home"), Audience.BUSINESS: _l("Business")}


def fold_for_search(text: str) -> str:
    """Lower-case ``text`` and strip accents, so "movil" finds "Móvil"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class Product(db.Model):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    platform: Mapped[Platform] = mapped_column(db_enum(Platform, "platform"), index=True)
    audience: Mapped[Audience] = mapped_column(db_enum(Audience, "audience"), index=True)
    # A generated SVG under static/ (the demo's), shown when no image was uploaded.
    image: Mapped[str | None] = mapped_column(String(200))
    # The uploaded image: the random name of its WebP files (store/catalogue/images.py).
    image_name: Mapped[str | None] = mapped_column(String(32))
    # Where buyers download the program (an https:// address the admin gives, or none).
    download_url: Mapped[str | None] = mapped_column(String(MAX_DOWNLOAD_URL_LENGTH))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_featured: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # Accent-free, lower-cased name, summary and description, kept by a mapper event.
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    plans: Mapped[list[Plan]] = relationship(
        back_populates="product", order_by="Plan.sort_order, Plan.id"
    )

    def __repr__(self) -> str:
        return f"<Product {self.slug}>"


class OldSlug(db.Model):
    """A slug a product had before the admin changed it: its old address redirects."""

    __tablename__ = "product_old_slug"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@event.listens_for(Product, "before_insert")
@event.listens_for(Product, "before_update")
def _refresh_search_text(mapper, connection, product: Product) -> None:
    product.search_text = fold_for_search(
        " ".join((product.name or "", product.summary or "", product.description or ""))
    )


# Which plans a renewal plan renews (set in the back office): a licence of plan P can be
# renewed by renewal plan R when (R, P) is a row here.
plan_renewal = db.Table(
    "plan_renewal",
    db.Column("renewal_plan_id", ForeignKey("plan.id", ondelete="CASCADE"), primary_key=True),
    db.Column("plan_id", ForeignKey("plan.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class Plan(db.Model):
    __tablename__ = "plan"
    __table_args__ = (
        CheckConstraint("duration_days > 0", name="duration_positive"),
        CheckConstraint("seats > 0", name="seats_positive"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        # The catalogue is priced in Cuban pesos; other currencies only appear at payment.
        CheckConstraint("currency = 'CUP'", name="currency_cup"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    duration_days: Mapped[int] = mapped_column(Integer)
    seats: Mapped[int] = mapped_column(Integer)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CUP")
    fulfilment: Mapped[Fulfilment] = mapped_column(
        db_enum(Fulfilment, "fulfilment"), default=Fulfilment.GENERATED
    )
    kind: Mapped[PlanKind] = mapped_column(db_enum(PlanKind, "plan_kind"), default=PlanKind.NEW)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The plan the product page highlights and preselects (set by the admin).
    is_recommended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # Pool plans: staff are warned when fewer keys than this are available.
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(back_populates="plans")
    # For a renewal plan: the plans whose licences it renews (empty for a new-licence plan).
    renews: Mapped[list[Plan]] = relationship(
        secondary=plan_renewal, primaryjoin=lambda: Plan.id == plan_renewal.c.renewal_plan_id,
        secondaryjoin=lambda: Plan.id == plan_renewal.c.plan_id, order_by="Plan.id",
    )

    @property
    def renewed_plan_ids(self) -> list[int]:
        """The ids of the plans it renews (for the audit log)."""
        return [plan.id for plan in self.renews]

    @property
    def price(self) -> Money:
        return Money(self.price_minor, self.currency)

    def __repr__(self) -> str:
        return f"<Plan {self.sku}>"
