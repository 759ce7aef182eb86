"""A live store server and a headless Chromium driven by Playwright.

The browser is Debian's Chromium (/usr/bin/chromium); Playwright never downloads one.
Without it the tests skip with the reason, unless STORE_REQUIRE_BROWSER=1 (CI), where
they fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("STORE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        reason = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("STORE_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def mail_transport() -> str:
    """Where the e2e store's emails go: memory, unless a test module asks for .eml files."""
    return "memory"


@pytest.fixture
def app(make_app, mail_transport):
    """The demo store; live_server serves it."""
    from store.catalogue.demo import seed_demo_catalogue

    app = make_app(STORE_MAIL_TRANSPORT=mail_transport)
    with app.app_context():
        seed_demo_catalogue()
    return app


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve ``app`` on a free loopback port for the length of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # Links in emails and the payment gateway's address are built from the public address.
    app.config["STORE_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def screenshots(request):
    """``shot(page, "step")`` saves test-artifacts/e2e/<test>/NN-step.png."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    taken: list[Path] = []

    def shot(page, step: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    shot.taken = taken
    return shot


# Elements wider than the screen, starting left of it, or cut off by a scroller, ignoring what is hidden on
# purpose (the skip link waits off-screen until focused; visually-hidden text is 1 px).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')].filter((element) => {
    if (element.closest('.skip-link, .visually-hidden')) return false;
    const box = element.getBoundingClientRect();
    if (box.width > 0 && (box.right > width + 0.5 || box.left < -0.5)) return true;
    // A scroller whose content is cut off hides it as surely as the screen's edge does.
    const clips = getComputedStyle(element).overflowX !== 'visible';
    return clips && element.clientWidth > 1 && element.scrollWidth > element.clientWidth + 1;
  }).map((element) => `${element.tagName}.${element.className}: ${element.textContent.trim().slice(0, 40)}`);
}"""


def overflowing_elements(page) -> list[str]:
    """What on the page leaves the screen sideways or is cut off (empty when all fits)."""
    return page.evaluate(OVERFLOWING)
