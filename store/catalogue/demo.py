"""The demo catalogue of a fictional antivirus vendor, Almiquí Software.

Almiquí is named after the Cuban solenodon; the vendor, its products and its prices are
invented for the demo and resemble no real company.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select

from store.catalogue.models import Audience, Fulfilment, Plan, PlanKind, Platform, Product
from store.extensions import db
from store.unit_of_work import use_case

YEAR, TWO_YEARS, HALF_YEAR = 365, 730, 180
# The vendor's (fictional) download site: each product's installers under its slug.
DOWNLOADS = "https://descargas.almiqui.example"


class DemoPlan(NamedTuple):
    """A plan of the demo catalogue; ``recommended`` marks the plan its product page suggests."""

    sku: str
    name: str
    days: int
    seats: int
    price: int  # centavos
    kind: PlanKind = PlanKind.NEW
    recommended: bool = False


# (slug, name, platform, audience, featured, summary, description, plans)
DEMO_PRODUCTS = [
    (
        "almiqui-antivirus-hogar", "Almiquí Antivirus Hogar", Platform.WINDOWS, Audience.HOME, True,
        "Protección esencial para tu PC con Windows: antivirus, antirrobo de contraseñas y "
        "actualizaciones diarias que ocupan poco.",
        "Analiza en tiempo real los archivos, memorias USB y descargas. Las actualizaciones "
        "son pequeñas y se pueden programar para las horas de datos más baratos. Incluye "
        "protección contra ransomware y un modo silencioso para juegos.",
        [
            DemoPlan("AH-1A-1PC", "1 año · 1 PC", YEAR, 1, 5000),
            DemoPlan("AH-1A-3PC", "1 año · 3 PC", YEAR, 3, 12000),
            DemoPlan("AH-2A-1PC", "2 años · 1 PC", TWO_YEARS, 1, 9000, recommended=True),
            DemoPlan("AH-R-1A-1PC", "Renovación · 1 año · 1 PC", YEAR, 1, 4000, PlanKind.RENEWAL),
        ],
    ),
    (
        "almiqui-familia", "Almiquí Familia", Platform.MULTI, Audience.HOME, True,
        "Una sola licencia para los equipos de toda la casa: Windows, macOS y Android.",
        "Protege computadoras, laptops y teléfonos de la familia con una sola clave. Control "
        "parental, protección de compras en línea y localización del teléfono perdido.",
        [
            DemoPlan("AF-1A-5D", "1 año · 5 dispositivos", YEAR, 5, 25000),
            DemoPlan("AF-2A-5D", "2 años · 5 dispositivos", TWO_YEARS, 5, 45000, recommended=True),
            DemoPlan(
                "AF-R-1A-5D", "Renovación · 1 año · 5 dispositivos", YEAR, 5, 20000,
                PlanKind.RENEWAL,
            ),
        ],
    ),
    (
        "almiqui-movil", "Almiquí Móvil", Platform.ANDROID, Audience.HOME, True,
        "Antivirus ligero para Android: analiza aplicaciones y bloquea enlaces peligrosos.",
        "Pensado para teléfonos con poca memoria y datos móviles caros: la base de firmas se "
        "actualiza por partes y el análisis corre mientras el teléfono carga.",
        [
            DemoPlan("AM-6M-1D", "6 meses · 1 teléfono", HALF_YEAR, 1, 1800),
            DemoPlan("AM-1A-1D", "1 año · 1 teléfono", YEAR, 1, 3000, recommended=True),
        ],
    ),
    (
        "almiqui-mac", "Almiquí para Mac", Platform.MACOS, Audience.HOME, False,
        "Protección discreta para macOS que no ralentiza tu equipo.",
        "Detecta programas maliciosos para macOS y los de Windows que llegan por correo o "
        "memorias USB, para que no pasen a otros equipos.",
        [DemoPlan("AX-1A-1M", "1 año · 1 Mac", YEAR, 1, 6000)],
    ),
    (
        "almiqui-servidor-linux", "Almiquí Servidor Linux", Platform.LINUX, Audience.BUSINESS, False,
        "Análisis bajo demanda y en tiempo real para servidores de archivos y correo con Linux.",
        "Se integra con servidores de correo y carpetas compartidas, y se administra desde la "
        "línea de comandos. Consume poca memoria y funciona sin conexión permanente.",
        [
            DemoPlan("AL-1A-1S", "1 año · 1 servidor", YEAR, 1, 15000),
            DemoPlan(
                "AL-R-1A-1S", "Renovación · 1 año · 1 servidor", YEAR, 1, 12000, PlanKind.RENEWAL
            ),
        ],
    ),
    (
        "almiqui-empresa", "Almiquí Empresa", Platform.WINDOWS, Audience.BUSINESS, True,
        "Protección para las estaciones de trabajo de tu empresa, con consola central.",
        "Licencias por estación de trabajo, políticas comunes para toda la red, informes de "
        "amenazas y actualizaciones desde un servidor local para ahorrar ancho de banda.",
        [
            DemoPlan("AE-1A-1WS", "1 año · 1 estación de trabajo", YEAR, 1, 7000),
            DemoPlan("AE-1A-10WS", "1 año · 10 estaciones de trabajo", YEAR, 10, 60000),
        ],
    ),
    (
        "almiqui-escudo-web", "Almiquí Escudo Web", Platform.MULTI, Audience.BUSINESS, False,
        "Filtro de correo y navegación para pequeñas empresas, en todos sus equipos.",
        "Bloquea adjuntos maliciosos y sitios de suplantación antes de que lleguen a los "
        "usuarios. Para negocios de hasta 25 personas.",
        [DemoPlan("AW-1A-25U", "1 año · 25 usuarios", YEAR, 25, 150000)],
    ),
]


@dataclass(frozen=True)
class SeedResult:
    products_added: int
    plans_added: int
    skipped: bool = False


def seed_demo_catalogue(*, only_if_empty: bool = False) -> SeedResult:
    """Add the demo products and plans that are missing (matched by slug and SKU).

    One use case. Never changes an existing row, so running it twice changes nothing.
    With ``only_if_empty`` it does nothing at all when any product exists.
    """
    with use_case() as uow:
        result = _add_missing(only_if_empty)
        uow.commit()
    return result


def _add_missing(only_if_empty: bool) -> SeedResult:
    if only_if_empty and db.session.scalar(select(Product.id).limit(1)) is not None:
        return SeedResult(0, 0, skipped=True)
    products = {p.slug: p for p in db.session.scalars(select(Product))}
    skus = set(db.session.scalars(select(Plan.sku)))
    products_added = plans_added = 0
    for order, (slug, name, platform, audience, featured, summary, text, plans) in enumerate(
        DEMO_PRODUCTS
    ):
        product = products.get(slug)
        if product is None:
            product = Product(
                slug=slug, name=name, platform=platform, audience=audience, is_featured=featured,
                summary=summary, description=text, image=f"img/products/{slug}.svg",
                sort_order=order * 10, download_url=f"{DOWNLOADS}/{slug}/",
            )
            db.session.add(product)
            products_added += 1
        for position, plan in enumerate(plans):
            if plan.sku in skus:
                continue
            product.plans.append(
                Plan(
                    sku=plan.sku, name=plan.name, duration_days=plan.days, seats=plan.seats,
                    price_minor=plan.price, currency="CUP", kind=plan.kind,
                    fulfilment=Fulfilment.GENERATED, is_recommended=plan.recommended,
                    sort_order=position * 10,
                )
            )
            plans_added += 1
        _link_new_renewals(product)
    return SeedResult(products_added, plans_added)


def _link_new_renewals(product: Product) -> None:
    """A renewal plan added here renews its product's new-licence plans of the same seats."""
    for renewal in product.plans:
        if renewal.kind == PlanKind.RENEWAL and renewal.id is None:
            renewal.renews = [plan for plan in product.plans
                              if plan.kind == PlanKind.NEW and plan.seats == renewal.seats]
