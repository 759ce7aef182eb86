"""Static URLs carry a hash of their content; hashed URLs are cached for a year (issue 8)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from flask import url_for

from store import static_files

IMMUTABLE = "public, max-age=31536000, immutable"


def content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_path(app, filename: str) -> Path:
    return Path(app.static_folder) / filename


def url_of(app, filename: str) -> str:
    with app.test_request_context():
        return url_for("static", filename=filename)


@pytest.fixture
def own_static_folder(app, tmp_path) -> Path:
    """The app serves a static folder of the test's own, holding css/site.css."""
    folder = tmp_path / "static"
    (folder / "css").mkdir(parents=True)
    (folder / "css" / "site.css").write_text("a{color:green}")
    app.static_folder = str(folder)
    return folder


@pytest.mark.usefixtures("demo")
def test_the_stylesheet_icon_and_product_images_carry_the_hash_of_their_content(app, client):
    html = client.get("/productos/").get_data(as_text=True)

    css = content_hash(static_path(app, "css/store.css"))
    icon = content_hash(static_path(app, "img/favicon.svg"))
    image = content_hash(static_path(app, "img/products/almiqui-movil.svg"))
    assert f'<link rel="stylesheet" href="/static/css/store.css?v={css}">' in html
    assert f'<link rel="icon" href="/static/img/favicon.svg?v={icon}"' in html
    assert f'<img src="/static/img/products/almiqui-movil.svg?v={image}"' in html
    assert not re.search(r'"/static/[^"?]*"', html), "a static URL without its hash"


def test_the_hash_changes_when_the_file_content_changes(app, client, own_static_folder):
    css = own_static_folder / "css" / "site.css"
    before = url_of(app, "css/site.css")

    css.write_text("a{color:darkgreen}")
    after = url_of(app, "css/site.css")

    assert before == f"/static/css/site.css?v={hashlib.sha256(b'a{color:green}').hexdigest()[:12]}"
    assert after == f"/static/css/site.css?v={content_hash(css)}"
    # The old URL now names content that is gone: it must not be kept for a year.
    assert client.get(before).headers["Cache-Control"] == "no-cache"
    assert client.get(after).headers["Cache-Control"] == IMMUTABLE
    assert client.get(after).get_data() == b"a{color:darkgreen}"


def test_a_file_is_read_once_however_many_urls_are_built(app, own_static_folder, monkeypatch):
    reads = []
    digest = static_files._digest
    monkeypatch.setattr(static_files, "_digest", lambda path: reads.append(path) or digest(path))

    urls = {url_of(app, "css/site.css") for _ in range(5)}
    client = app.test_client()
    served = [client.get(url).headers["Cache-Control"] for url in urls]

    assert len(urls) == 1 and served == [IMMUTABLE]
    assert len(reads) == 1


def test_a_hashed_url_is_served_immutable_for_a_year(app, client):
    url = url_of(app, "css/store.css")

    response = client.get(url)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.get_data() == static_path(app, "css/store.css").read_bytes()


@pytest.mark.parametrize("query", [
    pytest.param(lambda real: "", id="no hash"),
    pytest.param(lambda real: "?v=", id="empty hash"),
    pytest.param(lambda real: "?v=000000000000", id="wrong hash"),
    pytest.param(lambda real: f"?v={real[:11]}", id="hash cut short"),
    pytest.param(lambda real: f"?v={real.upper()}", id="hash in capitals"),
])
def test_a_url_without_the_right_hash_revalidates_with_an_etag(app, client, query):
    url = "/static/css/store.css" + query(content_hash(static_path(app, "css/store.css")))

    response = client.get(url)
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert again.status_code == 304 and again.headers["Cache-Control"] == "no-cache"


def test_a_hashed_url_asked_again_with_its_etag_is_a_304_that_stays_immutable(app, client):
    url = url_of(app, "img/favicon.svg")
    etag = client.get(url).headers["ETag"]

    again = client.get(url, headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["Cache-Control"] == IMMUTABLE


@pytest.mark.parametrize("url", ["/static/css/none.css", "/static/css/none.css?v=ea8ca3386d55",
                                 "/static/css/", "/static/../pyproject.toml"])
def test_a_static_file_that_does_not_exist_is_a_404(app, client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "immutable" not in response.headers.get("Cache-Control", "")


def test_a_url_for_a_missing_file_is_built_without_a_hash(app):
    assert url_of(app, "css/none.css") == "/static/css/none.css"


def test_a_static_file_does_not_vary_by_cookie_or_language_but_pages_do(app, client):
    css = client.get(url_of(app, "css/store.css"))
    page = client.get("/terminos")

    # A new session cookie (a cart, a language) must not make the browser fetch it again.
    assert "Cookie" not in css.vary and "Accept-Language" not in css.vary
    assert {"Cookie", "Accept-Language"} <= set(page.vary)
