"""The store finds its folders in a checkout and inside an installed package."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from store import resources

ROOT = Path(__file__).resolve().parents[2]


def load_resources_from(package_dir: Path):
    """Import a copy of store/resources.py placed in ``package_dir`` (a fake install)."""
    package_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(resources.__file__, package_dir / "resources.py")
    spec = importlib.util.spec_from_file_location("fake_resources", package_dir / "resources.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_checkout_uses_its_top_level_folders_and_instance():
    for name in ("templates", "static", "migrations"):
        assert resources.resource_dir(name) == ROOT / name
    assert resources.default_instance_path() == str(ROOT / "instance")


def test_an_installed_package_uses_its_bundled_folders_and_leaves_the_instance_to_flask(
    tmp_path,
):
    package_dir = tmp_path / "site-packages" / "store"
    for name in ("templates", "static", "migrations"):
        (package_dir / name).mkdir(parents=True)

    installed = load_resources_from(package_dir)

    for name in ("templates", "static", "migrations"):
        assert installed.resource_dir(name) == package_dir.resolve() / name
    assert installed.default_instance_path() is None
