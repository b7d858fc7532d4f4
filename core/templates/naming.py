"""Name patterns: `{date}`, `{account}`, `{geo}`, `{creative}`, `{n}` / `{n:03}` expanded into
names TikTok accepts (spec §4.2, §4.6, §4.9: at most 512 characters, CJK counted twice, no
emoji).

`{n}` is the object's 1-based position among its siblings in one launch (campaigns: the
account's place in the chosen accounts; ad groups: the geo's place in the template; ads: the
creative's place in the chosen creatives); `{n:03}` pads it with zeros to 3 digits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

NAME_MAX = 512  # spec §4.2 / §4.6 / §4.9
LEVELS: tuple[str, ...] = ("campaign", "adgroup", "ad")
MACROS: tuple[str, ...] = ("date", "account", "geo", "creative", "n")
# A campaign spans every geo and creative of its account, an ad group every creative of its
# geo: those macros have no single value there.
LEVEL_MACROS: dict[str, frozenset[str]] = {
    "campaign": frozenset({"date", "account", "n"}),
    "adgroup": frozenset({"date", "account", "geo", "n"}),
    "ad": frozenset({"date", "account", "geo", "creative", "n"}),
}

_MACRO = re.compile(r"\{([^{}]*)\}")
_COUNTER = re.compile(r"^n(?::0([1-9]))?$")
# Emoji and pictographs TikTok refuses in names and ad texts (spec §4.2, §4.9 "no emoji"),
# with the variation selector that turns a plain symbol into one.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")
# Characters TikTok counts as two (spec §4.2 "CJK characters count double"): CJK radicals to
# unified ideographs (incl. kana), Hangul syllables, compatibility ideographs, full-width forms.
_BREAKS = frozenset({"Cc", "Zl", "Zp", "Zs"})
_SPACE = " "
_WIDE = ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))


@dataclass(frozen=True)
class NameValues:
    """What the macros stand for when one object is named."""

    date: date  # the launch date in the user's time zone
    account: str = ""
    geo: str = ""
    creative: str = ""
    n: int = 1


def macros_in(pattern: str) -> list[str]:
    """The macros of a pattern as written between braces, in order."""
    return _MACRO.findall(pattern)


def macro_name(macro: str) -> str | None:
    """The macro's name (`n` for `n:03`), or None when it is not a macro this module knows."""
    if _COUNTER.match(macro):
        return "n"
    return macro if macro in MACROS else None


def expand(pattern: str, values: NameValues) -> str:
    """The name for one object: macros filled in, emoji and control characters dropped from
    the values, trimmed to TikTok's limit; raises ValueError on an unknown macro."""

    def one(match: re.Match[str]) -> str:
        macro = match.group(1)
        counter = _COUNTER.match(macro)
        if counter:
            return str(values.n).zfill(int(counter.group(1) or 0))
        if macro == "date":
            return values.date.isoformat()
        if macro in ("account", "geo", "creative"):
            return clean(getattr(values, macro))
        raise ValueError(f"unknown macro {{{macro}}}")

    name = trim(clean(_MACRO.sub(one, pattern)))
    # A name that came out blank (e.g. "{creative}" for a creative named only with emoji)
    # would be refused (spec §4.11): fall back to something unique within the launch.
    return name or f"{values.date.isoformat()} {values.n}"


def clean(text: str) -> str:
    """Text without emoji, with control characters and line breaks made spaces."""
    text = EMOJI.sub("", text)
    text = "".join(_SPACE if unicodedata.category(ch) in _BREAKS else ch for ch in text)
    return re.sub(r" {2,}", " ", text).strip()


def width(text: str) -> int:
    """Length as TikTok counts it for names: CJK characters count twice (spec §4.2)."""
    return sum(2 if _wide(ch) else 1 for ch in text)


def trim(text: str, limit: int = NAME_MAX) -> str:
    """Cut text to `limit` (by `width`) on a character boundary, never leaving a combining
    mark or joiner stranded at the end; trailing spaces go too."""
    if width(text) <= limit:
        return text
    used = 0
    cut = 0
    for i, ch in enumerate(text):
        used += 2 if _wide(ch) else 1
        if used > limit:
            cut = i
            break
    # Drop a base character whose combining marks would be cut off, so that what is left is
    # a whole character (e.g. "é" written as e + U+0301 does not become a bare "e").
    while cut > 0 and unicodedata.combining(text[cut]):
        cut -= 1
    out = text[:cut]
    return out.rstrip(" \u200d")


def _wide(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _WIDE)
