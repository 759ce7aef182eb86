"""Every storefront page weighs under 30 KB with all it loads, and names no other host (issue 8).

Buyers are on slow, expensive mobile data. A page's weight is its HTML plus everything the
browser fetches to show it: stylesheets, scripts, images (``srcset`` candidates too), icons,
and what the CSS pulls in (``url(...)``, ``@import``), each counted once, before compression.
To weigh another page, add one line to STOREFRONT_PAGES.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from store.catalogue.images import prepare_image, save_image, upload_folder
from store.catalogue.models import Plan, Product
from store.extensions import db

BUDGET_BYTES = 30 * 1024
DEMO_PLAN_SKU = "AH-1A-1PC"  # Almiquí Antivirus Hogar, 1 año · 1 PC: 50.00 CUP, generated keys


def cart_with_a_line(shopper, plan_id: int) -> str:
    shopper.add(plan_id)
    return "/carrito/"


def checkout_form(shopper, plan_id: int) -> str:
    shopper.add(plan_id)
    return "/caja/"


def order_waiting_for_payment(shopper, plan_id: int) -> str:
    number, _gateway = shopper.place_unpaid(plan_id)
    return f"/pedido/{number}/"


def order_fulfilled(shopper, plan_id: int) -> str:
    return shopper.buy(plan_id)


def order_declined(shopper, plan_id: int) -> str:
    return shopper.buy(plan_id, decision="declined")


def _upload_images(app: Flask, products, image: Image.Image) -> None:
    """Give each of ``products`` an uploaded image (files of its own), as the back office does."""
    png = io.BytesIO()
    image.save(png, "PNG")
    variants = prepare_image(png.getvalue())
    with app.app_context():
        for product in db.session.scalars(products):
            product.image_name = save_image(variants, upload_folder())
        db.session.commit()


def product_page_with_a_noisy_image(shopper, plan_id: int) -> str:
    """The heaviest product page with the heaviest kind of image: pure noise."""
    noise = random.Random(0).randbytes(600 * 600 * 3)
    _upload_images(shopper.client.application,
                   sa.select(Product).join(Plan).where(Plan.id == plan_id),
                   Image.frombytes("RGB", (600, 600), noise))
    return "/productos/almiqui-antivirus-hogar/"


def product_list_with_images(shopper, plan_id: int) -> str:
    _upload_images(shopper.client.application, sa.select(Product),
                   Image.effect_mandelbrot((800, 600), (-2, -1.5, 1, 1.5), 80).convert("RGB"))
    return "/productos/"


def emptying_the_cart(shopper, plan_id: int) -> str:
    shopper.add(plan_id)
    return "/carrito/vaciar"


# (a path, or a function of the shopper and a demo plan's id that takes the shopper there
# and returns the path; the status the page answers; a text that shows it is that page)
STOREFRONT_PAGES = [
    pytest.param("/", 200, "<h1>Licencias de antivirus", id="home"),
    pytest.param("/productos/", 200, "7 productos encontrados", id="product list"),
    pytest.param("/productos/?audience=business", 200, "3 productos encontrados", id="filtered list"),
    # Hogar has the most plans (three new, one renewal): the heaviest product page.
    pytest.param("/productos/almiqui-antivirus-hogar/", 200, "Planes y precios", id="product page"),
    pytest.param(product_page_with_a_noisy_image, 200, "-page.webp", id="product page, image"),
    pytest.param(product_list_with_images, 200, "-card.webp", id="product list, images"),
    pytest.param(cart_with_a_line, 200, "1 año · 1 PC", id="cart with a line"),
    pytest.param(checkout_form, 200, 'name="checkout_token"', id="checkout form"),
    pytest.param(order_waiting_for_payment, 200, "Esperando tu pago", id="order pending"),
    pytest.param(order_fulfilled, 200, 'class="licence-key"', id="order fulfilled with keys"),
    pytest.param(order_declined, 200, "Volver a pagar", id="order declined"),
    pytest.param(emptying_the_cart, 200, "¿Vaciar el carrito?", id="empty the cart?"),
    pytest.param("/terminos", 200, "<h1>Condiciones de venta</h1>", id="terms"),
    pytest.param("/devoluciones", 200, "<h1>Política de devoluciones</h1>", id="refunds"),
    pytest.param("/quienes-somos", 200, "<h1>Quiénes somos</h1>", id="about us"),
    pytest.param("/formas-de-pago", 200, "<h1>Formas de pago</h1>", id="payment methods"),
    pytest.param("/no-existe/", 404, "Página no encontrada", id="not found"),
]

# <link rel=...> values the browser fetches while showing the page.
FETCHED_LINKS = {"stylesheet", "icon", "apple-touch-icon", "mask-icon", "manifest", "preload",
                 "modulepreload"}
# Elements whose src the browser fetches (an <input> only with type="image", but a src on
# any other input would be a mistake worth weighing too).
FETCHED_SOURCES = {"img", "script", "source", "iframe", "embed", "audio", "video", "track",
                   "input"}
ADDRESS_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "data", "cite")
CSS_ADDRESS = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.I)


def css_addresses(css: str) -> list[str]:
    """The addresses a stylesheet (or a style attribute) loads: url(...) and @import."""
    return [match[2] or match[4] for match in CSS_ADDRESS.finditer(css) if match[2] or match[4]]


def srcset_addresses(srcset: str) -> list[str]:
    return [candidate.split()[0] for candidate in srcset.split(",") if candidate.strip()]


class PageAddresses(HTMLParser):
    """Every address a page names, and those the browser fetches to show it."""

    def __init__(self) -> None:
        super().__init__()
        self.named: list[str] = []
        self.fetched: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs) -> None:
        attrs = {name: value or "" for name, value in attrs}
        self.named += [attrs[name] for name in ADDRESS_ATTRIBUTES if attrs.get(name)]
        loads = srcset_addresses(attrs.get("srcset", "")) + srcset_addresses(
            attrs.get("imagesrcset", "")) + css_addresses(attrs.get("style", ""))
        if tag == "link" and FETCHED_LINKS & set(attrs.get("rel", "").lower().split()):
            loads.append(attrs.get("href", ""))
        if tag in FETCHED_SOURCES:
            loads.append(attrs.get("src", ""))
        loads += [attrs.get("poster", ""), attrs.get("data", "") if tag == "object" else ""]
        loads = [address for address in loads if address]
        self.named += loads
        self.fetched += loads
        self._in_style = tag == "style"

    def handle_endtag(self, tag) -> None:
        self._in_style = False

    def handle_data(self, data) -> None:
        if self._in_style:
            self.named += css_addresses(data)
            self.fetched += css_addresses(data)


def on_another_host(address: str, hosts: Set[str]) -> bool:
    """An absolute address on a host not in ``hosts``, or any protocol-relative one."""
    # Browsers drop tabs and newlines inside URLs and read a backslash as a slash.
    address = re.sub(r"[\t\n\r]", "", address).strip().replace("\\", "/")
    netloc = urlsplit(address).netloc.lower()
    return address.startswith("//") or bool(netloc) and netloc not in hosts


@dataclass
class WeighedPage:
    address: str
    status: int
    html: str
    sizes: dict[str, int]  # the page and each address it loads -> bytes
    named: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.sizes.values())

    def report(self) -> str:
        lines = [f"{size:>8,}  {address}" for address, size in self.sizes.items()]
        return (f"{self.address} weighs {self.total:,} bytes, over the budget of "
                f"{BUDGET_BYTES:,}:\n" + "\n".join(lines))


def weigh(client, address: str, hosts: Set[str] = frozenset({"localhost"})) -> WeighedPage:
    """Open ``address`` and fetch, once each, everything it loads on ``hosts``.

    Fails when something it loads is missing; leaves other hosts to ``on_another_host``.
    """
    response = client.get(address)
    html = response.get_data(as_text=True)
    parser = PageAddresses()
    parser.feed(html)
    page = WeighedPage(address, response.status_code, html, {address: len(response.get_data())},
                       list(parser.named))
    queue = [urljoin(address, url) for url in parser.fetched]
    while queue:
        url = queue.pop(0)
        if url in page.sizes or url.startswith("data:") or on_another_host(url, hosts):
            continue  # a data: URL weighs in the HTML already
        loaded = client.get(url)
        assert loaded.status_code == 200, f"{address} loads {url}: {loaded.status_code}"
        page.sizes[url] = len(loaded.get_data())
        if loaded.mimetype == "text/css":
            inner = css_addresses(loaded.get_data(as_text=True))
            page.named += inner
            queue += [urljoin(url, each) for each in inner]
    return page


@pytest.fixture
def demo_plan(app, demo) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Plan.id).where(Plan.sku == DEMO_PLAN_SKU))


@pytest.fixture
def app_hosts(app) -> set[str]:
    """The test client's host, and the store's public one (STORE_BASE_URL)."""
    return {"localhost", urlsplit(app.config["STORE_BASE_URL"]).netloc}


@pytest.fixture
def visit(shopper, demo_plan, app_hosts) -> Callable[..., WeighedPage]:
    """Reach a page of STOREFRONT_PAGES as a shopper, check it is that page, and weigh it."""

    def open_page(reach, status: int, shows: str) -> WeighedPage:
        address = reach if isinstance(reach, str) else reach(shopper, demo_plan)
        page = weigh(shopper.client, address, app_hosts)
        assert page.status == status, f"{address} answered {page.status}"
        assert shows in page.html, f"{address} is not the page meant: no {shows!r}"
        return page

    return open_page


@pytest.mark.parametrize(("reach", "status", "shows"), STOREFRONT_PAGES)
def test_a_storefront_page_with_everything_it_loads_weighs_at_most_30_kb(
    visit, reach, status, shows
):
    page = visit(reach, status, shows)

    assert any("/static/css/" in address for address in page.sizes), "the CSS is not weighed"
    assert page.total <= BUDGET_BYTES, page.report()


def download_addresses(app) -> set[str]:
    """The products' download addresses, set by an admin: a paid order's page links to them
    on purpose (issue 13), the only addresses on another host a storefront page may name.
    A link the buyer follows, never something the page loads."""
    with app.app_context():
        return set(db.session.scalars(
            sa.select(Product.download_url).where(Product.download_url.is_not(None))))


@pytest.mark.parametrize(("reach", "status", "shows"), STOREFRONT_PAGES)
def test_no_address_on_a_storefront_page_points_to_another_host(
    app, visit, app_hosts, reach, status, shows
):
    page = visit(reach, status, shows)

    allowed = download_addresses(app)
    elsewhere = [address for address in page.named
                 if on_another_host(address, app_hosts) and address not in allowed]
    assert page.named and elsewhere == [], f"{page.address} names other hosts: {elsewhere}"
    linked = set(re.findall(r'<a [^>]*href="([^"]+)"', page.html))
    assert set(page.named) & allowed <= linked, f"{page.address} loads a download address"


# The weighing itself, on a page made for it: what it counts and what it catches.

PROBE_PAGE = """<!doctype html><html><head>
<link rel="stylesheet" href="/s/site.css"><link rel="icon" href="/s/icon.svg">
<script src="/s/app.js"></script><style>main{background:url("/s/inline.png")}</style>
</head><body><a href="/elsewhere">not fetched</a>
<img src="/s/photo.png" srcset="/s/photo.png 1x, /s/photo@2x.png 2x" alt="">
<form action="https://pay.example/charge"></form>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
</body></html>"""

PROBE_FILES = {
    "site.css": b"@import 'more.css'; body{background:url(img/bg.png)} "
                b"@font-face{src:url(https://fonts.example/f.woff2)}",
    "more.css": b"p{margin:0}",
    "img/bg.png": b"B" * 100,
    "icon.svg": b"I" * 10,
    "app.js": b"J" * 20,
    "inline.png": b"N" * 30,
    "photo.png": b"P" * 40,
    "photo@2x.png": b"Q" * 80,
}


def test_the_weighing_counts_each_thing_a_page_loads_once_and_catches_other_hosts(tmp_path):
    for name, content in PROBE_FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    probe = Flask("probe", static_folder=str(tmp_path), static_url_path="/s")
    probe.add_url_rule("/", "page", lambda: PROBE_PAGE)

    page = weigh(probe.test_client(), "/")

    assert page.sizes == {"/": len(PROBE_PAGE.encode())} | {
        f"/s/{name}": len(content) for name, content in PROBE_FILES.items()
    }
    assert [a for a in page.named if on_another_host(a, {"localhost"})] == [
        "https://pay.example/charge", "https://fonts.example/f.woff2",
    ]


@pytest.mark.parametrize(("address", "elsewhere"), [
    ("/static/css/store.css?v=ea8ca3386d55", False),
    ("#main", False),
    ("?page=2", False),
    ("http://localhost/productos/", False),
    ("mailto:ventas@example.cu", False),
    ("data:image/gif;base64,R0lGOD", False),
    ("https://cdn.example/store.css", True),
    ("//cdn.example/store.css", True),
    ("//localhost/store.css", True),
    ("/\\cdn.example/store.css", True),
    (" https://cdn.example/x", True),
    ("ht\ttps://cdn.example/x", True),
    ("http://localhost@cdn.example/", True),
    ("http://localhost:8080/", True),
])
def test_an_address_is_on_another_host_only_when_it_names_one(address, elsewhere):
    assert on_another_host(address, {"localhost"}) is elsewhere
