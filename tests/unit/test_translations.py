"""Every UI string is marked, extracted and translated into Spanish."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SPANISH = ROOT / "store/translations/es/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def extracted_ids() -> set:
    with open(ROOT / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {
        "_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
        "_ln": (1, 2), "lazy_ngettext": (1, 2),
    }
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_ui_string_in_the_code_is_in_the_spanish_catalogue():
    with open(SPANISH, "rb") as handle:
        catalogue = read_po(handle)
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id}
    missing = extracted_ids() - known
    assert not missing, f"run `make i18n-extract` and translate: {sorted(missing)}"


def test_every_spanish_entry_is_translated_not_fuzzy_and_keeps_its_placeholders():
    with open(SPANISH, "rb") as handle:
        catalogue = read_po(handle)
    for message in catalogue:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert "fuzzy" not in message.flags, message.id
        assert all(strings), f"untranslated: {message.id}"
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, message.id


def test_every_template_is_covered_by_the_extraction_rules():
    with open(ROOT / "babel.cfg") as handle:
        method_map, _options = parse_mapping_cfg(handle)
    patterns = [pattern for pattern, _method in method_map]
    templates = [p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*.*")]
    from babel.util import pathmatch

    uncovered = [t for t in templates if not any(pathmatch(p, t) for p in patterns)]
    assert not uncovered, f"add an extraction rule to babel.cfg for {uncovered}"


def test_the_plain_text_part_of_the_delivery_email_is_extracted():
    assert "Your order page, with your keys and a printable receipt, stays at:" in extracted_ids()
