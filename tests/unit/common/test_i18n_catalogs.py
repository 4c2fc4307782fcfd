"""The catalogs hold every text the code and templates use, all translated into Vietnamese."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from services.common.i18n import LANGUAGES, LOCALE_DIR

SERVICES = Path(__file__).resolve().parents[3] / "services"
# The same keywords scripts/i18n passes to `pybabel extract`.
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "translate": (2,),
    "translate_plural": (2, 3),
    "localised": None,
    "localised_in": ((1, "c"), 2),
}

MessageKey = tuple[str, str | None]


def source_messages() -> dict[MessageKey, str]:
    """Every msgid (with its context) used under services/, with the file using it."""
    with (LOCALE_DIR / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[MessageKey, str] = {}
    for filename, _, message, _, context in extract_from_dir(
        SERVICES, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((msgid, context), filename)
    return found


def catalog(lang: str) -> Catalog:
    """The .po catalog of `lang`."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return read_po(po_file, locale=lang)


def test_extraction_finds_the_texts_of_code_and_templates() -> None:
    found = source_messages()
    assert ("Look up a report", None) in found  # a template's _()
    assert ("Hijacked account", None) in found  # a label's N_()
    assert ("%(duration)s left", None) in found  # a translate() call


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_in_use_is_in_the_catalog(lang: str) -> None:
    known = catalog(lang)
    missing = [
        f"{where}: {msgid!r}"
        for (msgid, context), where in source_messages().items()
        if known.get(msgid, context) is None
    ]
    assert not missing, f"run scripts/i18n update, then translate; missing in {lang}: {missing}"


def test_every_text_in_use_is_translated_into_vietnamese() -> None:
    vietnamese = catalog("vi")
    untranslated = []
    for msgid, context in source_messages():
        message = vietnamese.get(msgid, context)
        strings = message.string if message is not None else ""
        translated = all(strings) if isinstance(strings, tuple) else bool(strings)
        if message is None or not translated or message.fuzzy:
            untranslated.append(msgid)
    assert not untranslated, f"untranslated or fuzzy in vi/LC_MESSAGES/messages.po: {untranslated}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders_of_their_msgid(lang: str) -> None:
    problems = [
        f"{message.id!r}: {'; '.join(str(error) for error in errors)}"
        for message, errors in catalog(lang).check()
    ]
    assert not problems, problems
