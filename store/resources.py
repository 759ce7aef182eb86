"""Where the store's templates, static files, migrations and instance folder live.

A checkout keeps templates/, static/ and migrations/ at the top level, next to
pyproject.toml; the wheel carries them inside the package (store/templates, ...).
This module imports nothing from the store, so anything may use it.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent


def resource_dir(name: str) -> Path:
    """Return the folder ``name``: the copy bundled in the package, else the checkout's."""
    bundled = PACKAGE_DIR / name
    return bundled if bundled.is_dir() else CHECKOUT_DIR / name


def default_instance_path() -> str | None:
    """Return the checkout's instance/ folder, or None when installed (Flask's default)."""
    if (CHECKOUT_DIR / "pyproject.toml").is_file():
        return str(CHECKOUT_DIR / "instance")
    return None
