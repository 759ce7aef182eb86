"""The wheel is the whole application: installed elsewhere, it migrates, seeds and serves.

The test builds the wheel from this checkout, installs it into a fresh virtual environment
in a temporary folder (dependencies come from the package index, usually out of pip's
cache) and runs the store from there, outside the checkout, as an operator would.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[2]
BUNDLED_FOLDERS = ("templates", "static", "migrations")
COMPILED_SPANISH = "store/translations/es/LC_MESSAGES/messages.mo"
PIP_TIMEOUT = 600
STORE_TIMEOUT = 120

# Runs inside the installed store: visit a few pages, print what came back as JSON.
VISIT_PAGES = """
import json, re, store
from store import create_app

app = create_app()
client = app.test_client()
home = client.get("/").get_data(as_text=True)
product_path = re.search(r'href="(/productos/[^/"]+/)"', home).group(1)
css_url = re.search(r'<link rel="stylesheet" href="([^"]+)"', home).group(1)
pages = {
    "home": client.get("/"),
    "product": client.get(product_path),
    "missing": client.get("/no-existe/"),
    "css": client.get(css_url),
}
print(json.dumps({
    "folders": [
        store.__file__, app.template_folder, app.static_folder,
        app.extensions["migrate"].directory,
    ],
    "css_url": css_url,
    "pages": {
        name: {"status": page.status_code, "text": page.get_data(as_text=True),
               "cache": page.headers.get("Cache-Control")}
        for name, page in pages.items()
    },
}))
"""


def start(command: list, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


def finish(process: subprocess.Popen, *, timeout: float) -> str:
    """Wait for ``process``; fail the test with its output unless it succeeded. Return stdout."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, (
        f"{' '.join(map(str, process.args))} exited with {process.returncode}\n"
        f"stdout:\n{stdout}\nstderr:\n{stderr}"
    )
    return stdout


def run(command: list, *, timeout: float, **kwargs) -> str:
    return finish(start(command, **kwargs), timeout=timeout)


def clean_environment(**store_variables: str) -> dict[str, str]:
    """This process's environment without any STORE_* (or PYTHONPATH), plus the given ones."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("STORE_") and name not in {"PYTHONPATH", "PYTHONHOME"}
    }
    environ.update(store_variables)
    return environ


def pip(*arguments) -> list:
    return [sys.executable, "-m", "pip", *arguments]


def project_dependencies() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["dependencies"]


def build_and_install_wheel(tmp_path: Path) -> tuple[Path, Path]:
    """Build the wheel and install it into a new venv; return the wheel and the venv's bin/.

    The dependencies go into the venv while the wheel builds (it saves a few seconds);
    installing the wheel then still checks what the wheel itself requires.
    """
    dist, venv = tmp_path / "dist", tmp_path / "venv"
    python = venv / "bin" / "python"
    environ = clean_environment()
    build = start(pip("wheel", "--quiet", "--no-deps", "-w", dist, ROOT), env=environ)
    try:
        run([sys.executable, "-m", "venv", "--without-pip", venv], timeout=STORE_TIMEOUT)
        run(
            pip("--python", python, "install", "--quiet", "--no-compile", *project_dependencies()),
            timeout=PIP_TIMEOUT,
            env=environ,
        )
    finally:
        finish(build, timeout=PIP_TIMEOUT)
    (wheel,) = dist.glob("store-*.whl")
    run(
        pip("--python", python, "install", "--quiet", "--no-compile", wheel),
        timeout=PIP_TIMEOUT,
        env=environ,
    )
    return wheel, venv / "bin"


def files_under(folder: Path) -> set[str]:
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_installed_wheel_migrates_seeds_and_serves_spanish_pages_outside_the_checkout(
    tmp_path,
):
    # Given the wheel built from this checkout, installed into a new venv elsewhere
    assert ROOT not in tmp_path.parents, "the test must run outside the checkout"
    wheel, bin_folder = build_and_install_wheel(tmp_path)
    workdir = tmp_path / "work"
    workdir.mkdir()
    instance = tmp_path / "instance"
    environ = clean_environment(STORE_INSTANCE_PATH=str(instance))
    environ.pop("PYTHONDONTWRITEBYTECODE", None)  # later commands start faster with bytecode
    store_command = {"cwd": workdir, "env": environ, "timeout": STORE_TIMEOUT}

    # When an operator migrates an empty database, loads the demo and opens pages
    run([bin_folder / "flask", "--app", "store", "db", "upgrade"], **store_command)
    seeded = run([bin_folder / "flask", "--app", "store", "store", "seed-demo"], **store_command)
    visit = json.loads(run([bin_folder / "python", "-c", VISIT_PAGES], **store_command))

    # Then the wheel carries every template, static file and migration, and the catalogue
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for folder in BUNDLED_FOLDERS:
        expected = {f"store/{folder}/{name}" for name in files_under(ROOT / folder)}
        assert expected and expected <= names, f"{folder}/ missing: {sorted(expected - names)}"
    assert COMPILED_SPANISH in names
    assert "store/_build_hook.py" not in names
    assert not [name for name in names if name.endswith(".pyc")]

    # And the store runs from the venv, not the checkout, on the database it migrated
    venv = (tmp_path / "venv").resolve()
    for path in visit["folders"]:  # the package, templates, static files, migrations
        assert venv in Path(path).resolve().parents, path
    assert (instance / "store.sqlite3").is_file()
    assert "Catálogo de demostración" in seeded

    # And its pages are in Spanish: home, a product, the error page and the stylesheet
    pages = visit["pages"]
    assert pages["home"]["status"] == 200
    assert "<h1>Licencias de antivirus, pagadas en pesos cubanos</h1>" in pages["home"]["text"]
    assert pages["product"]["status"] == 200
    assert "Planes y precios" in pages["product"]["text"]
    assert pages["missing"]["status"] == 404
    assert "Página no encontrada" in pages["missing"]["text"]
    assert pages["css"]["status"] == 200

    # And the stylesheet's URL carries the hash of the installed file, cached for a year
    css_hash = hashlib.sha256((ROOT / "static" / "css" / "store.css").read_bytes()).hexdigest()
    assert visit["css_url"] == f"/static/css/store.css?v={css_hash[:12]}"
    assert pages["css"]["cache"] == "public, max-age=31536000, immutable"
