"""Catalogue pages through the test client: content, language, filters, junk, budgets."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from store.catalogue.models import Audience, Plan, PlanKind, Platform, Product
from store.extensions import db
from tests.factories import make_product

PAGE_BUDGET_BYTES = 60 * 1024


class AssetCollector(HTMLParser):
    """Collects what a page makes the browser fetch: stylesheets, scripts, images, meta."""

    def __init__(self) -> None:
        super().__init__()
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self.fetched: list[str] = []
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.stylesheets.append(attrs["href"])
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if tag == "meta" and "name" in attrs:
            self.meta[attrs["name"]] = attrs.get("content", "")
        for name in ("src", "href", "action"):
            if attrs.get(name) and tag != "a":
                self.fetched.append(attrs[name])


def parse(html: str) -> AssetCollector:
    collector = AssetCollector()
    collector.feed(html)
    return collector


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


@pytest.mark.usefixtures("demo")
def test_home_page_is_in_spanish_with_prices_in_cup(client):
    response = client.get("/")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="es">' in html
    assert "Licencias de antivirus, pagadas en pesos cubanos" in html
    assert "Cómo comprar" in html and "Elige tu plan" in html
    assert "Desde <span class=\"price\">50.00 CUP</span>" in html
    assert "Almiquí Antivirus Hogar" in html


@pytest.mark.usefixtures("demo")
def test_english_is_chosen_from_accept_language(client):
    html = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Antivirus licences, paid in Cuban pesos" in html
    assert "50.00 CUP" in html


@pytest.mark.usefixtures("demo")
def test_the_language_switch_keeps_the_choice_in_the_session(client):
    response = client.post(
        "/idioma", data={"language": "en", "next": "/productos/?platform=linux"},
        headers={"Accept-Language": "es"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/productos/?platform=linux"

    html = client.get("/productos/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "products found" in html

    client.post("/idioma", data={"language": "es", "next": "/"})
    html = client.get("/productos/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="es">' in html and "productos encontrados" in html


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x", ""]
)
def test_the_language_switch_never_redirects_off_site(client, next_url):
    response = client.post("/idioma", data={"language": "en", "next": next_url})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_language_switch_ignores_an_unknown_language(client):
    client.post("/idioma", data={"language": "en", "next": "/"})

    refused = client.post("/idioma", data={"language": "fr", "next": "/"})

    # The view keeps the earlier choice: it stores nothing it does not know.
    with client.session_transaction() as session:
        assert session["locale"] == "en"
    assert refused.headers["Location"] == "/"
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_the_language_switch_needs_a_csrf_token(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/idioma", data={"language": "en", "next": "/"})
    assert response.status_code == 400
    assert '<html lang="es">' in client.get("/").get_data(as_text=True)


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("platform=android", ["Almiquí Móvil", "Almiquí Familia"], ["Almiquí para Mac"]),
        ("platform=macos", ["Almiquí para Mac", "Almiquí Familia"], ["Almiquí Móvil"]),
        ("audience=business", ["Almiquí Empresa", "Almiquí Servidor Linux"], ["Almiquí Móvil"]),
        ("platform=linux&audience=business", ["Almiquí Servidor Linux"], ["Almiquí Empresa"]),
        ("q=movil", ["Almiquí Móvil"], ["Almiquí Empresa"]),
        ("q=ESTACIONES", ["Almiquí Empresa"], ["Almiquí Móvil"]),
    ],
)
def test_filters_and_search_show_the_right_products(client, query, present, absent):
    html = client.get(f"/productos/?{query}").get_data(as_text=True)
    for name in present:
        assert name in html
    for name in absent:
        assert name not in html


def test_the_list_paginates_and_keeps_the_filters_in_its_links(app, client):
    with app.app_context():
        for n in range(30):
            make_product(slug=f"p{n:02d}", name=f"Escudo {n:02d}", sort_order=n,
                         platform=Platform.LINUX)
        db.session.commit()

    first = client.get("/productos/?platform=linux&q=escudo").get_data(as_text=True)
    third = client.get("/productos/?platform=linux&q=escudo&page=3").get_data(as_text=True)

    assert "Página 1 de 3" in first and "Escudo 11" in first and "Escudo 12" not in first
    assert 'href="/productos/?page=2&amp;q=escudo&amp;platform=linux"' in first
    assert "Escudo 29" in third and "Escudo 23" not in third
    assert 'rel="next"' not in third


JUNK_QUERIES = [
    "q=" + "A" * 100_000,
    "q=%27%20OR%201%3D1%3B%20DROP%20TABLE%20product%3B--",
    "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "q=%00%01%02",
    "q=%FF%FE",
    "q=%25%25%25_",
    "platform=%3Cb%3Ewindows%3C%2Fb%3E&audience=%22onmouseover%3D",
    "platform=windows&platform=linux",
    "page=-1",
    "page=abc",
    "page=99999999999999999999999999999",
    "page=1e9",
    "audience[]=home",
]


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("query", JUNK_QUERIES, ids=range(len(JUNK_QUERIES)))
def test_a_junk_query_string_returns_a_normal_escaped_page(client, query):
    response = client.get(f"/productos/?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Productos</h1>" in html
    assert "<script>" not in html and "<b>windows" not in html
    assert 'onmouseover="' not in html


@pytest.mark.usefixtures("demo")
def test_the_search_box_echoes_only_the_cleaned_query(client):
    html = client.get("/productos/?q=movil%00%01" + "x" * 5000).get_data(as_text=True)
    assert "\x00" not in html and "\x01" not in html
    assert 'value="movil' + "x" * 95 + '"' in html  # capped at 100 characters


@pytest.mark.usefixtures("demo")
def test_a_huge_query_string_does_not_make_the_page_or_the_language_form_huge(client):
    response = client.get("/productos/?q=" + "A" * 100_000)
    html = response.get_data(as_text=True)
    next_value = re.search(r'name="next" value="([^"]*)"', html).group(1)
    assert len(next_value) <= 500
    assert len(html) < 20_000


@pytest.mark.usefixtures("demo")
def test_a_page_past_the_end_shows_the_last_page(client):
    html = client.get("/productos/?page=99").get_data(as_text=True)
    assert "7 productos encontrados" in html
    assert "Almiquí Antivirus Hogar" in html
    assert "Ningún producto coincide" not in html


@pytest.mark.usefixtures("demo")
def test_catalogue_texts_are_marked_spanish_on_english_pages(client):
    english = client.get(
        "/productos/almiqui-movil/", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    spanish = client.get("/productos/almiqui-movil/").get_data(as_text=True)
    assert '<h1 lang="es">Almiquí Móvil</h1>' in english
    assert '<p class="lead" lang="es">Antivirus ligero para Android' in english
    assert '<p lang="es">Pensado para teléfonos' in english
    assert "<h1>Almiquí Móvil</h1>" in spanish and "<p>Pensado para teléfonos" in spanish


@pytest.mark.usefixtures("demo")
def test_search_text_is_echoed_escaped(client):
    html = client.get("/productos/?q=%3Cscript%3Ex%3C%2Fscript%3E").get_data(as_text=True)
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>" not in html


def test_the_product_list_runs_the_same_number_of_queries_for_5_and_200_products(
    app, client, count_queries
):
    def queries_for(total: int) -> int:
        with app.app_context():
            existing = db.session.scalar(sa.select(sa.func.count()).select_from(Product))
            for _ in range(total - existing):
                make_product(plans=[{}, {}, {}])
            db.session.commit()
        with count_queries() as counter:
            assert client.get("/productos/").status_code == 200
            assert client.get("/").status_code == 200
        return counter.count

    with_5 = queries_for(5)
    assert 0 < with_5 <= 8
    assert queries_for(200) == with_5


class PlanOptions(HTMLParser):
    """The plan chooser's options: their group, radio, classes and visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.options: list[dict] = []
        self.legend = ""
        self._in_legend = self._in_label = False

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "legend":
            self._in_legend, self.legend = True, ""
        elif tag == "label" and "plan-option" in attrs.get("class", ""):
            self._in_label = True
            self.options.append({"group": self.legend, "classes": attrs["class"].split(),
                                 "text": ""})
        elif tag == "input" and self._in_label:
            self.options[-1].update(plan_id=int(attrs["value"]), checked="checked" in attrs,
                                    required="required" in attrs, type=attrs["type"])

    def handle_endtag(self, tag) -> None:
        if tag == "legend":
            self._in_legend = False
        elif tag == "label" and self._in_label:
            self._in_label = False
            self.options[-1]["text"] = " ".join(self.options[-1]["text"].split())

    def handle_data(self, data) -> None:
        if self._in_legend:
            self.legend += data.strip()
        elif self._in_label:
            self.options[-1]["text"] += data


def plan_options(html: str) -> list[dict]:
    parser = PlanOptions()
    parser.feed(html)
    return parser.options


def plan_ids(app, *skus: str) -> list[int]:
    with app.app_context():
        ids = dict(db.session.execute(sa.select(Plan.sku, Plan.id).where(Plan.sku.in_(skus))).all())
    return [ids[sku] for sku in skus]


@pytest.mark.usefixtures("demo")
def test_product_page_shows_each_plan_once_with_its_terms_price_per_year_and_saving(client):
    response = client.get("/productos/almiqui-antivirus-hogar/")
    html = response.get_data(as_text=True)
    page = parse(html)

    assert response.status_code == 200
    assert title_of(html) == "Almiquí Antivirus Hogar · Tienda Almiquí"
    assert page.meta["description"].startswith("Protección esencial para tu PC")
    assert [(o["group"], o["text"]) for o in plan_options(html)] == [
        ("Licencia nueva", "1 año · 1 dispositivo 50.00 CUP"),
        ("Licencia nueva", "1 año · 3 dispositivos 120.00 CUP"),
        ("Licencia nueva",
         "2 años · 1 dispositivo Recomendado 90.00 CUP 45.00 CUP al año · ahorras 10.00 CUP"),
    ]
    # A renewal is no option of the add-to-cart form: it is bought for a licence.
    assert "1 año · 1 dispositivo · 40.00 CUP" in " ".join(re.sub(r"<[^>]+>", "", html).split())
    assert 'href="/renovar/"' in html
    # The plans' names say again what their terms say; they are not shown.
    assert "1 año · 1 PC" not in html and "Renovación · 1 año" not in html


@pytest.mark.usefixtures("demo")
def test_a_shorter_plan_shows_its_price_per_year_but_no_saving(client):
    html = client.get("/productos/almiqui-movil/").get_data(as_text=True)

    assert [o["text"] for o in plan_options(html)] == [
        "6 meses · 1 dispositivo 18.00 CUP 36.50 CUP al año",
        "1 año · 1 dispositivo Recomendado 30.00 CUP",
    ]
    assert "ahorras" not in html


@pytest.mark.usefixtures("demo")
def test_the_recommended_plan_is_preselected_and_highlighted(app, client):
    (two_years,) = plan_ids(app, "AH-2A-1PC")

    options = plan_options(client.get("/productos/almiqui-antivirus-hogar/").get_data(as_text=True))

    assert [o["plan_id"] for o in options if o["checked"]] == [two_years]
    assert [o["plan_id"] for o in options if "plan-recommended" in o["classes"]] == [two_years]
    assert [o["plan_id"] for o in options if "Recomendado" in o["text"]] == [two_years]


def test_without_a_recommended_plan_the_first_new_plan_is_preselected(app, client):
    with app.app_context():
        product = make_product(slug="p", plans=[
            {"kind": PlanKind.RENEWAL, "sort_order": 0},
            {"sort_order": 1},
            {"sort_order": 2, "duration_days": 730, "price_minor": 9000},
        ])
        db.session.commit()
        first_new = product.plans[1].id

    options = plan_options(client.get("/productos/p/").get_data(as_text=True))

    assert [o["plan_id"] for o in options if o["checked"]] == [first_new]
    assert not any("plan-recommended" in o["classes"] for o in options)
    # The renewal is no option of the form: it is bought for a licence (/renovar/).
    assert [o["group"] for o in options] == ["Licencia nueva", "Licencia nueva"]


@pytest.mark.usefixtures("demo")
def test_renewal_plans_are_listed_apart_with_a_link_to_renew_a_licence(client):
    hogar = client.get("/productos/almiqui-antivirus-hogar/").get_data(as_text=True)
    movil = client.get("/productos/almiqui-movil/").get_data(as_text=True)

    group = re.search(r'<div class="plan-group renewal-plans">\s*<h3>Renovación</h3>\s*'
                      r'<p class="plan-help">(.*?)</p>(.*?)</div>', hogar, re.S)
    assert group and group[1] == "Para añadir tiempo a una licencia que ya tienes, con la misma clave."
    assert 'href="/renovar/"' in group[2] and "Renovar mi licencia" in group[2]
    assert "renewal-plans" not in movil and "Renovación" not in movil


@pytest.mark.usefixtures("demo")
def test_the_plan_chooser_is_one_form_with_a_quantity_and_one_add_to_cart_button(client):
    html = client.get("/productos/almiqui-antivirus-hogar/").get_data(as_text=True)

    forms = re.findall(r'<form class="plan-chooser" method="post" action="/carrito/anadir">'
                       r"(.*?)</form>", html, re.S)
    assert len(forms) == 1 and html.count('action="/carrito/anadir"') == 1
    (form,) = forms
    assert re.findall(r"<button[^>]*>(.*?)</button>", form) == ["Añadir al carrito"]
    assert '<label for="quantity">Cantidad</label>' in form
    assert ('<input id="quantity" name="quantity" type="number" min="1" max="50" value="1"'
            ' inputmode="numeric" required>') in form
    assert 'name="csrf_token"' in form
    assert all(o["type"] == "radio" and o["required"] for o in plan_options(form))
    assert "Precio final en CUP, sin cargos añadidos." in form


def test_the_quantity_box_allows_the_store_s_cart_limit(make_app):
    app = make_app(STORE_CART_MAX_QUANTITY=7)
    with app.app_context():
        make_product(slug="p")
        db.session.commit()

    html = app.test_client().get("/productos/p/").get_data(as_text=True)

    assert 'type="number" min="1" max="7" value="1"' in html


@pytest.mark.usefixtures("demo")
def test_the_product_page_s_headings_go_down_one_level_at_a_time(client):
    html = client.get("/productos/almiqui-antivirus-hogar/").get_data(as_text=True)
    main = html[html.index("<main"):html.index("</main>")]

    levels = [int(level) for level in re.findall(r"<h([1-6])[ >]", main)]

    assert levels == [1, 2, 3, 2]


@pytest.mark.usefixtures("demo")
def test_product_page_in_english_translates_durations_and_devices(client):
    html = client.get(
        "/productos/almiqui-movil/", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert [o["text"] for o in plan_options(html)] == [
        "6 months · 1 device 18.00 CUP 36.50 CUP a year",
        "1 year · 1 device Recommended 30.00 CUP",
    ]
    assert "New licence" in html and "Final price in CUP, with no added charges." in html


def test_the_product_page_runs_the_same_number_of_queries_for_2_plans_and_for_30(
    app, client, count_queries
):
    with app.app_context():
        make_product(slug="few", plans=[{}, {"duration_days": 730}])
        make_product(slug="many", plans=[
            {"duration_days": 365 * (1 + n % 3), "seats": 1 + n % 4} for n in range(30)
        ])
        db.session.commit()

    def queries(path: str) -> int:
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        return counter.count

    assert queries("/productos/few/") == queries("/productos/many/")


def test_inactive_products_and_plans_are_never_shown(app, client):
    with app.app_context():
        make_product(slug="hidden", name="Producto Oculto", is_active=False)
        make_product(slug="shown", name="Producto Visible", plans=[
            {"name": "Plan Activo"}, {"name": "Plan Retirado", "is_active": False},
        ])
        db.session.commit()

        active, retired = (plan.id for plan in db.session.scalars(
            sa.select(Plan).where(Plan.name.in_(["Plan Activo", "Plan Retirado"]))
            .order_by(Plan.name)
        ))

    listing = client.get("/productos/").get_data(as_text=True)
    page = client.get("/productos/shown/").get_data(as_text=True)

    assert "Producto Oculto" not in listing and "Producto Visible" in listing
    assert client.get("/productos/hidden/").status_code == 404
    assert [o["plan_id"] for o in plan_options(page)] == [active]
    assert f'value="{retired}"' not in page


@pytest.mark.parametrize(
    "slug", ["no-such-product", "%3Cscript%3E", "a" * 300, "ALMIQUI-MOVIL", "%E2%80%AE"]
)
def test_an_unknown_slug_is_a_spanish_404_page_in_the_layout(client, slug):
    response = client.get(f"/productos/{slug}/")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Este producto no existe o ya no está a la venta." in html
    assert "Tienda Almiquí" in html and 'class="site-header"' in html
    assert "<script>" not in html


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("path", ["/", "/productos/", "/productos/almiqui-familia/", "/nope"])
def test_pages_load_nothing_from_other_hosts_and_need_no_javascript(client, path):
    response = client.get(path)
    page = parse(response.get_data(as_text=True))
    assert page.scripts == []
    assert all(url.startswith("/") and not url.startswith("//") for url in page.fetched)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.usefixtures("demo")
def test_a_product_page_weighs_less_than_60_kb_with_its_css_and_js(client):
    html = client.get("/productos/almiqui-familia/").get_data()
    page = parse(html.decode())
    assets = [client.get(url).get_data() for url in page.stylesheets + page.scripts]
    assert page.stylesheets  # the page is styled, and the stylesheet counts
    assert len(html) + sum(len(asset) for asset in assets) < PAGE_BUDGET_BYTES


@pytest.mark.usefixtures("demo")
def test_product_images_have_alt_text_and_the_page_has_labelled_fields(client):
    html = client.get("/productos/").get_data(as_text=True)
    assert all(' alt="' in tag for tag in re.findall(r"<img[^>]*>", html))
    for field in ("q", "platform", "audience"):
        assert f'<label for="{field}">' in html


def test_filter_choices_do_not_offer_multi_as_a_platform(client):
    html = client.get("/productos/").get_data(as_text=True)
    assert 'value="multi"' not in html
    assert '<option value="android">' in html
    for audience in Audience:
        assert f'<option value="{audience.value}">' in html


def test_a_nul_byte_in_a_path_is_a_spanish_400_page(client):
    response = client.get("/productos/nul%00byte/")
    assert response.status_code == 400
    assert "Solicitud incorrecta" in response.get_data(as_text=True)
