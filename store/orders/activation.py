"""What a buyer needs after paying, per product bought: where to download the program and
how to activate a key on the product's platform.

The order page and the delivery email show the same guides (templates/orders/
_after_purchase.html, templates/mail/_after_purchase.txt and .html).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from store.catalogue.models import Plan, Platform, Product
from store.extensions import db
from store.orders.models import OrderLine

# The first step differs per platform; "multi" products (one key for several systems)
# get one general step that covers each device's own system.
INSTALL_STEP = {
    Platform.WINDOWS: _l("Download the program for Windows and install it."),
    Platform.MACOS: _l("Download the program for macOS, open the .dmg file and drag the app "
                       "to Applications."),
    Platform.ANDROID: _l("Download the app on the phone and install it (allow installing "
                         "from this source if Android asks)."),
    Platform.LINUX: _l("Download the package for Linux and install it with your system's "
                       "package manager."),
    Platform.MULTI: _l("On each device, download the program for its system (Windows, "
                       "macOS, Android or Linux) and install it."),
}
COMMON_STEPS = (
    _l("Open the program."),
    _l("Choose “Activar licencia”."),
    _l("Paste your licence key and confirm."),
)


def activation_steps(platform: Platform) -> list[str]:
    """The numbered steps that activate a key on ``platform``, in the current language."""
    return [str(step) for step in (INSTALL_STEP[platform], *COMMON_STEPS)]


@dataclass(frozen=True)
class ProductGuide:
    """One product of an order: its name as bought, its download address, its platform."""

    name: str
    download_url: str | None
    platform: Platform

    @property
    def steps(self) -> list[str]:
        return activation_steps(self.platform)


def product_guides(lines: list[OrderLine]) -> list[ProductGuide]:
    """A guide per distinct product of ``lines``, in the order first bought (one query)."""
    plan_ids = {line.plan_id for line in lines}
    if not plan_ids:
        return []
    product_of = dict(db.session.execute(
        select(Plan.id, Product).join(Product, Plan.product_id == Product.id)
        .where(Plan.id.in_(plan_ids))
    ).all())
    guides: dict[int, ProductGuide] = {}
    for line in lines:
        product = product_of[line.plan_id]
        if product.id not in guides:
            guides[product.id] = ProductGuide(line.product_name, product.download_url,
                                              product.platform)
    return list(guides.values())
