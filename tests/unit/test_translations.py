"""Every user-facing string in bot/ and core/ has a Russian translation with the same placeholders
and the same HTML tags, so a reply never falls back to English or breaks Telegram's HTML parser."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "__": None, "gettext": None, "lazy_gettext": None,
            "ngettext": (1, 2), "lazy_ngettext": (1, 2)}


def _source_messages() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "core"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS, comment_tags=()
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(lang: str) -> dict[str, str]:
    """msgid → msgstr; a plural entry is keyed by its singular, and reads as its forms joined
    when every form is translated (else as empty: untranslated)."""
    with open(ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        out: dict[str, str] = {}
        for m in read_po(f):
            if not m.id or m.fuzzy:
                continue
            if isinstance(m.id, tuple):
                forms = list(m.string)
                out[m.id[0]] = "\x00".join(forms) if all(forms) else ""
            else:
                out[m.id] = m.string
        return out


def _plurals(lang: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    with open(ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return [(m.id, tuple(m.string)) for m in read_po(f) if isinstance(m.id, tuple)]


def _shape(text: str) -> tuple[list[str], list[str]]:
    return sorted(re.findall(r"\{\w+\}", text)), re.findall(r"</?[a-z]+>", text)


def test_every_string_is_translated_to_russian() -> None:
    ru = _catalog("ru")
    missing = sorted(m for m in _source_messages() if not ru.get(m))
    assert missing == [], f"untranslated (run pybabel extract/update, then translate): {missing}"


def test_translations_keep_placeholders_and_tags() -> None:
    for msgid, msgstr in _catalog("ru").items():
        for form in msgstr.split("\x00"):
            assert _shape(msgid) == _shape(form), f"placeholders or tags differ in: {msgid!r}"


def test_plurals_have_every_russian_form() -> None:
    # Russian counts in three forms (1 правило, 2 правила, 5 правил): ngettext needs all three.
    for ids, forms in _plurals("ru"):
        assert len(forms) == 3 and all(forms), f"plural forms missing for: {ids[0]!r}"
        assert all(_shape(ids[1]) == _shape(f) for f in forms), ids


def test_english_catalog_lists_the_same_messages() -> None:
    assert set(_catalog("en")) >= _source_messages() - {""}
