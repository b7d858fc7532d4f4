"""Telegram HTML parse mode: validation, plain-text rendering and entity extraction.

Mirrors the rules in shared/spec/telegram-bot-platform.md §3 (allowed tags, the four named
entities, nesting) and counts lengths in UTF-16 code units as §1 recommends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# §3: the complete list of tags Telegram accepts, with the attributes each may carry.
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "tg-spoiler": frozenset(),
    "span": frozenset({"class"}),
    "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "tg-time": frozenset({"unix", "format"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
}

_ENTITY_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}

# §3: only these four named entities exist; numeric ones are all accepted.
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{0,31});")
_ATTR_RE = re.compile(r"""\s*([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")
_TIME_FORMAT_RE = re.compile(r"^(r|w?[dD]?[tT]?)$")


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; str() is the part after "can't parse entities: "."""


@dataclass
class ParsedText:
    """Result of parsing: plain text plus Bot API MessageEntity dicts (UTF-16 offsets)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units, the unit Telegram counts in (§1)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, pos: int) -> tuple[str, int]:
    """Decode the entity starting at source[pos] == '&'; return (char, new_pos)."""
    match = _ENTITY_RE.match(source, pos)
    if match is None:
        # §3: a stray '&' must be written as &amp; (the sandbox is stricter than tdlib here).
        raise HtmlParseError(
            f"Unescaped '&' at byte offset {_byte_offset(source, pos)}; use &amp; instead"
        )
    name = match.group(1)
    if name.startswith("#"):
        number = int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
        if number <= 0 or number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
            raise HtmlParseError(
                f"Invalid numeric HTML entity \"&{name};\" at byte offset "
                f"{_byte_offset(source, pos)}"
            )
        return chr(number), match.end()
    if name not in _NAMED_ENTITIES:
        # §3: &nbsp;, &copy; and every other named entity are errors.
        raise HtmlParseError(
            f"Unsupported HTML entity \"&{name};\" at byte offset {_byte_offset(source, pos)}"
        )
    return _NAMED_ENTITIES[name], match.end()


def _unescape_attr(value: str, source: str, pos: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            try:
                char, end = _decode_entity(value, i)
            except HtmlParseError as exc:
                raise HtmlParseError(f"{exc} in an attribute near byte offset "
                                     f"{_byte_offset(source, pos)}") from None
            out.append(char)
            i = end
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str]
    start_utf16: int
    byte_pos: int


def parse_html(source: str, *, strict_attributes: bool = True) -> ParsedText:
    """Parse Telegram HTML into plain text and entities, raising HtmlParseError if invalid."""
    out: list[str] = []
    out_len = 0  # UTF-16 length of the text produced so far
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch == "&":
            char, i = _decode_entity(source, i)
            out.append(char)
            out_len += utf16_len(char)
            continue
        if ch == ">":
            # tdlib accepts a bare '>' in text; §3 asks for &gt; but it is not an error.
            out.append(ch)
            out_len += 1
            i += 1
            continue
        if ch != "<":
            out.append(ch)
            out_len += utf16_len(ch)
            i += 1
            continue
        begin = i
        close = source.find(">", i)
        if source.startswith("<!--", i):
            raise HtmlParseError(
                f"Unsupported start tag \"!--\" at byte offset {_byte_offset(source, begin)}"
            )
        if source.startswith("</", i):
            if close == -1:
                raise HtmlParseError(
                    f"Unclosed end tag at byte offset {_byte_offset(source, begin)}"
                )
            name = source[i + 2 : close].strip().lower()
            if not stack:
                raise HtmlParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(source, begin)}"
                )
            top = stack[-1]
            if name != top.tag:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
                    f"expected \"</{top.tag}>\", found \"</{name}>\""
                )
            stack.pop()
            _emit_entity(top, out_len, entities, stack[-1] if stack else None)
            i = close + 1
            continue
        # A start tag: its name runs to the first space or '>' (tdlib's rule), so a bare
        # '<' in text ("a < b", "<user@x.com>") becomes an unsupported tag.
        j = i + 1
        while j < n and not source[j].isspace() and source[j] != ">":
            j += 1
        if j >= n or close == -1:
            raise HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
        name = source[i + 1 : j].lower()
        if name not in ALLOWED_TAGS:
            raise HtmlParseError(
                f"Unsupported start tag \"{name}\" at byte offset {_byte_offset(source, begin)}"
            )
        attr_text = source[j:close]
        if attr_text.endswith("/"):
            raise HtmlParseError(
                f"Unsupported self-closing tag \"{name}\" at byte offset "
                f"{_byte_offset(source, begin)}"
            )
        attrs = _parse_attrs(name, attr_text, source, begin, strict_attributes)
        _check_nesting(name, attrs, stack, source, begin)
        stack.append(_Open(name, attrs, out_len, _byte_offset(source, begin)))
        i = close + 1
    if stack:
        raise HtmlParseError(f"Can't find end tag corresponding to start tag \"{stack[-1].tag}\"")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities)


def _parse_attrs(
    name: str, attr_text: str, source: str, begin: int, strict: bool
) -> dict[str, str]:
    attrs: dict[str, str] = {}
    pos = 0
    while pos < len(attr_text):
        if attr_text[pos:].strip() == "":
            break
        match = _ATTR_RE.match(attr_text, pos)
        if match is None or match.end() == pos:
            raise HtmlParseError(
                f"Empty attribute name in the tag \"{name}\" at byte offset "
                f"{_byte_offset(source, begin)}"
            )
        key = match.group(1).lower()
        raw = match.group(2)
        value = "" if raw is None else raw.strip("\"'") if raw[:1] in "\"'" else raw
        attrs[key] = _unescape_attr(value, source, begin)
        pos = match.end()
    allowed = ALLOWED_TAGS[name]
    for key in attrs:
        if key not in allowed and strict:
            # §3 (unconfirmed upstream): extra attributes are reported to be rejected.
            raise HtmlParseError(
                f"Unsupported attribute \"{key}\" in the tag \"{name}\" at byte offset "
                f"{_byte_offset(source, begin)}"
            )
    if name == "span" and attrs.get("class") != "tg-spoiler":
        # §3: <span> is only accepted as <span class="tg-spoiler">.
        raise HtmlParseError(
            f"Tag \"span\" must have class \"tg-spoiler\" at byte offset "
            f"{_byte_offset(source, begin)}"
        )
    if name == "tg-time":
        unix = attrs.get("unix", "")
        if not unix.isdigit():
            raise HtmlParseError(
                f"Invalid unix time in tag \"tg-time\" at byte offset {_byte_offset(source, begin)}"
            )
        if "format" in attrs and not _TIME_FORMAT_RE.match(attrs["format"]):
            raise HtmlParseError(
                f"Invalid format in tag \"tg-time\" at byte offset {_byte_offset(source, begin)}"
            )
    if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
        raise HtmlParseError(
            f"Invalid custom emoji identifier at byte offset {_byte_offset(source, begin)}"
        )
    if name == "code" and "class" in attrs and not attrs["class"].startswith("language-"):
        raise HtmlParseError(
            f"Unsupported class in the tag \"code\" at byte offset {_byte_offset(source, begin)}"
        )
    return attrs


def _check_nesting(
    name: str, attrs: dict[str, str], stack: list[_Open], source: str, begin: int
) -> None:
    """§3: blockquote can't nest; pre/code contain nothing but <code> inside <pre>."""
    where = _byte_offset(source, begin)
    for open_tag in stack:
        if open_tag.tag == "code" or (open_tag.tag == "pre" and name != "code"):
            raise HtmlParseError(
                f"Entity \"{name}\" can't be nested in \"{open_tag.tag}\" at byte offset {where}"
            )
        if open_tag.tag == "blockquote" and name == "blockquote":
            raise HtmlParseError(f"Blockquote can't be nested at byte offset {where}")
        if open_tag.tag == "a" and name == "a":
            raise HtmlParseError(f"Link can't be nested in a link at byte offset {where}")
    if name == "code" and "class" in attrs and (not stack or stack[-1].tag != "pre"):
        # §3: a language can't go on a standalone <code>; tdlib just ignores it.
        attrs.pop("class")


def _emit_entity(
    top: _Open, end_utf16: int, entities: list[dict[str, Any]], parent: _Open | None
) -> None:
    length = end_utf16 - top.start_utf16
    if length <= 0:
        return
    tag = top.tag
    entity: dict[str, Any]
    if tag == "a":
        href = top.attrs.get("href", "")
        if not href:
            return
        entity = {"type": "text_link", "url": href}
    elif tag == "tg-emoji":
        entity = {"type": "custom_emoji", "custom_emoji_id": top.attrs.get("emoji-id", "")}
    elif tag == "tg-time":
        return
    elif tag == "code" and "class" in top.attrs:
        # <pre><code class="language-x">: the language goes onto the enclosing pre entity.
        if parent is not None and parent.tag == "pre":
            parent.attrs["language"] = top.attrs["class"][len("language-") :]
        return
    elif tag == "pre" and top.attrs.get("language"):
        entity = {"type": "pre", "language": top.attrs["language"]}
    elif tag == "blockquote":
        kind = "expandable_blockquote" if "expandable" in top.attrs else "blockquote"
        entity = {"type": kind}
    else:
        entity = {"type": _ENTITY_TYPES[tag]}
    entity["offset"] = top.start_utf16
    entity["length"] = length
    entities.append(entity)


def strip_html(source: str) -> str:
    """Plain-text rendering of Telegram HTML (tags dropped, entities unescaped), lenient."""
    try:
        return parse_html(source, strict_attributes=False).text
    except HtmlParseError:
        text = re.sub(r"<[^>]*>", "", source)
        for name, char in _NAMED_ENTITIES.items():
            text = text.replace(f"&{name};", char)
        return text


def render_entities(text: str, entities: list[dict[str, Any]], bold: tuple[str, str]) -> str:
    """Wrap bold entities of text (UTF-16 offsets) in the given (open, close) markers."""
    units = text.encode("utf-16-le")
    marks: dict[int, list[str]] = {}
    for ent in entities:
        if ent.get("type") != "bold":
            continue
        start, end = ent["offset"], ent["offset"] + ent["length"]
        marks.setdefault(start, []).append(bold[0])
        marks.setdefault(end, []).insert(0, bold[1])
    if not marks:
        return text
    pieces: list[str] = []
    last = 0
    for pos in sorted(marks):
        pieces.append(units[last * 2 : pos * 2].decode("utf-16-le", errors="replace"))
        pieces.extend(marks[pos])
        last = pos
    pieces.append(units[last * 2 :].decode("utf-16-le", errors="replace"))
    return "".join(pieces)
