"""How a Vietnamese place name typed by a person is compared: one key, whatever the Unicode form,
case, spacing, invisible characters, diacritics, tone-mark placement or administrative prefix."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# Prefixes (as bare words) that name the kind of unit rather than the unit; longest first.
PROVINCE_PREFIXES: tuple[str, ...] = ("thanh pho", "thu do", "tinh", "t p", "tp")
PROVINCE_SUFFIXES: tuple[str, ...] = ("city", "province")
COMMUNE_PREFIXES: tuple[str, ...] = ("dac khu", "phuong", "thi tran", "xa", "dk", "p", "x")
DISTRICT_PREFIXES: tuple[str, ...] = (
    "thanh pho",
    "thi xa",
    "quan",
    "huyen",
    "tp",
    "tx",
    "q",
    "h",
)
# Written before a number ("Quận 1", "P.15"), a prefix is part of the name.
_NUMBERED = {"q": "quan", "p": "phuong", "quan": "quan", "phuong": "phuong"}

_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"),
    None,
)
_SEPARATORS = re.compile(r"[\W_]+")
_GLUED_NUMBER = re.compile(r"^(q|p)(\d+)$")
_TONES = "\u0300\u0301\u0303\u0309\u0323"
# Old-style tone placement ("hoà", "thuỷ") moved to the new style ("hòa", "thủy").
_OLD_TONE = re.compile(rf"(?<![qQ])([oO][aAeE]|[uU][yY])([{_TONES}])(?![^\W\d_])")


@dataclass(frozen=True)
class NameKey:
    """A name as compared: with diacritics, without them and without spaces, and as shown."""

    accented: str
    compact: str
    display: str


@functools.lru_cache(maxsize=4096)
def name_key(text: str, prefixes: tuple[str, ...], suffixes: tuple[str, ...] = ()) -> NameKey:
    """The comparison key of `text` with one leading kind prefix (and an English suffix) removed.

    Kept for the 4,096 texts last asked for: reports name the same few thousand places over and
    over, and each key costs three Unicode normalisations."""
    # A lone surrogate (possible in JSON) is shown as "?": messages quoting the input must encode.
    text = text.translate(_INVISIBLE).encode("utf-8", "replace").decode("utf-8")
    display = " ".join(unicodedata.normalize("NFKC", text).split())
    decomposed = unicodedata.normalize("NFD", display.casefold())
    composed = unicodedata.normalize("NFC", _OLD_TONE.sub(_move_tone, decomposed))
    words = [w for w in _SEPARATORS.split(composed) if w]
    words = _glued_numbers(words)
    bare = [bare_form(w) for w in words]
    drop, keep = _affixes(bare, prefixes, suffixes)
    words, bare = words[drop : len(words) - keep], bare[drop : len(bare) - keep]
    return NameKey(" ".join(words), "".join(bare), display)


def _move_tone(match: re.Match[str]) -> str:
    pair = match.group(1)
    return pair[0] + match.group(2) + pair[1]


def _glued_numbers(words: list[str]) -> list[str]:
    if len(words) == 1 and (m := _GLUED_NUMBER.match(words[0])):
        return [_NUMBERED[m.group(1)], m.group(2)]
    if len(words) == 2 and words[0] in _NUMBERED and words[1].isdigit():
        return [_NUMBERED[words[0]], words[1]]
    return words


def _affixes(
    bare: list[str], prefixes: tuple[str, ...], suffixes: tuple[str, ...]
) -> tuple[int, int]:
    """How many words to drop at the start and at the end (never all of them, and never the
    prefix of a number such as "Quận 1")."""
    drop = 0
    for prefix in prefixes:
        size = len(prefix.split())
        if bare[:size] == prefix.split() and len(bare) > size:
            drop = 0 if len(bare) == size + 1 and bare[-1].isdigit() else size
            break
    keep = 1 if len(bare) - drop > 1 and bare[-1] in suffixes else 0
    return drop, keep


def bare_form(text: str) -> str:
    """`text` without diacritics (đ as d), casefolded."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")


# Vietnamese alphabetical order: a < ă < â, d < đ, e < ê, o < ô < ơ, u < ư; tones break ties.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTERS = str.maketrans({c: chr(0x3000 + i) for i, c in enumerate(_ALPHABET)})


def sort_key(name: str) -> tuple[str, str]:
    """A key sorting names in Vietnamese alphabetical order."""
    decomposed = unicodedata.normalize("NFD", name.casefold())
    toneless = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    return toneless.translate(_LETTERS), decomposed
