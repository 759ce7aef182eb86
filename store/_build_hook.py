"""Hatchling build hook: compile the translation catalogues into the wheel.

Compiled catalogues are build products, never committed: every
store/translations/<locale>/LC_MESSAGES/messages.po becomes a messages.mo beside it in
the wheel. Editable installs run from the checkout, where `make` compiles the catalogues
in place and the top-level templates/, static/ and migrations/ are used as they are.
This file is only read by the build; the wheel leaves it out.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CATALOGUES = "store/translations/*/LC_MESSAGES/messages.po"


class CompileCatalogues(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="store-build-"))
        if version == "editable":
            # Hatchling would copy every force-include folder into site-packages even
            # for an editable install; map an empty folder instead, so it copies nothing.
            build_data["force_include_editable"] = {str(self.scratch): "store"}
            return
        catalogues = sorted(Path(self.root).glob(CATALOGUES))
        if not catalogues:
            raise FileNotFoundError(f"no translation catalogues match {CATALOGUES}")
        for po_path in catalogues:
            target = po_path.relative_to(self.root).with_suffix(".mo")
            mo_path = self.scratch / target
            mo_path.parent.mkdir(parents=True)
            compile_catalogue(po_path, mo_path, locale=po_path.parts[-3])
            build_data["force_include"][str(mo_path)] = target.as_posix()

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def compile_catalogue(po_path: Path, mo_path: Path, *, locale: str) -> None:
    """Write ``po_path`` compiled to ``mo_path``, leaving out fuzzy entries as pybabel does."""
    with po_path.open("rb") as po_file:
        catalogue = read_po(po_file, locale=locale)
    with mo_path.open("wb") as mo_file:
        write_mo(mo_file, catalogue)
