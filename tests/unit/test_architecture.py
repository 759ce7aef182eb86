"""The import graph keeps the layers of docs/architecture.md and has no cycle."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_in_pyproject_is_kept(capsys):
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                          no_logo=True)

    report = capsys.readouterr().out
    assert "3 kept, 0 broken" in report, report
    assert status == 0, report
