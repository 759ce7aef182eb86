"""The import graph keeps the layers of docs/architecture.md and has no cycle."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_in_pyproject_is_kept(capsys):
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                          no_logo=True)

    report = capsys.readouterr().out
    assert "3 kept, 0 broken" in report, report
    assert status == 0, report


# Build-time only: never imported by the store, and left out of the wheel.
OUTSIDE_THE_LAYERS = {"__init__", "_build_hook"}


def test_every_module_of_the_store_sits_in_a_layer():
    # A module named in no layer could import any area without breaking a contract.
    with open(ROOT / "pyproject.toml", "rb") as handle:
        contracts = tomllib.load(handle)["tool"]["importlinter"]["contracts"]
    (areas_contract,) = [c for c in contracts if c["type"] == "layers" and "containers" not in c]
    named = set(re.findall(r"store\.(\w+)", " ".join(areas_contract["layers"])))

    modules = {
        path.stem for path in (ROOT / "store").iterdir()
        if path.suffix == ".py" or (path / "__init__.py").is_file()
    } - OUTSIDE_THE_LAYERS

    assert modules - named == set(), "add these modules to a layer in pyproject.toml"
