"""Creative library screens: the list, one creative, adding, renaming, deleting."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.units import format_unit

from bot.callbacks import CreativeCb, MenuCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager
from core.creatives import (
    NAME_MAX,
    PAGE_SIZE,
    Added,
    BadLink,
    BadName,
    ChecksumMismatch,
    CreativeCard,
    CreativeError,
    CreativeNotFound,
    EmptyFile,
    FileTooLarge,
    LibraryPage,
    TooManyPixels,
    UnsupportedFile,
)
from storage.models import Creative

LINK_SHOWN = 300  # characters of a link shown in a caption (captions stop at 1024, §1)


def _locale() -> str:
    return get_i18n().current_locale


def size_text(size: int) -> str:
    """2.4 MB / 180 kB / 12 B in the reader's language (Babel/CLDR units)."""
    for unit, scale in (("digital-megabyte", 1024**2), ("digital-kilobyte", 1024)):
        if size >= scale:
            value = round(size / scale, 1)
            return format_unit(value, unit, length="short", locale=_locale())
    return format_unit(size, "digital-byte", length="short", locale=_locale())


def duration_text(seconds: int) -> str:
    """0:12, 3:05, 1:02:03."""
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def icon(c: Creative) -> str:
    """🎬 for a video, 🖼 for an image."""
    return "🎬" if c.kind == "video" else "🖼"


def kind_word(kind: str) -> str:
    """video / image."""
    return _("video") if kind == "video" else _("image")


def kind_text(c: Creative) -> str:
    """video (MP4) / image (PNG)."""
    fmt = (c.mime_type.rsplit("/", 1)[-1] if c.mime_type else "").upper()
    fmt = {"QUICKTIME": "MOV", "X-MSVIDEO": "AVI", "JPEG": "JPG"}.get(fmt, fmt)
    kind = kind_word(c.kind)
    return f"{kind} ({fmt})" if fmt else kind


def facts(c: Creative) -> str:
    """The short facts of one library line: size, duration or dimensions, checksum."""
    parts: list[str] = []
    if c.source_url:
        parts.append(_("🔗 link"))
    else:
        parts.append(size_text(c.size))
    if c.kind == "video" and c.duration is not None:
        parts.append(duration_text(c.duration))
    elif c.width and c.height:
        parts.append(f"{c.width}×{c.height}")
    if not c.source_url:
        parts.append(f"<code>{c.md5[:8]}</code>")
    return " · ".join(parts)


def library(lib: LibraryPage) -> Screen:
    """The library, newest first; a numbered button opens each creative."""
    kb = InlineKeyboardBuilder()
    head = _("<b>🎞 Creatives</b>") + (f" ({lib.total})" if lib.total else "")
    if lib.pages > 1:
        head += f" · {lib.page + 1}/{lib.pages}"
    lines = [head, ""]
    lines.append(
        _(
            "Send a video or an image here — or a link to one — to add it. Bots can take files "
            "from Telegram up to 20 MB; send bigger ones as a link."
        )
    )
    if not lib.items:
        lines += ["", _("Your library is empty.")]
    else:
        lines.append("")
    first = lib.page * PAGE_SIZE + 1
    for n, c in enumerate(lib.items, first):
        lines.append(f"{n}. {icon(c)} <b>{html.quote(c.name)}</b> · {facts(c)}")
        kb.button(text=str(n), callback_data=CreativeCb(a="open", id=c.id, n=lib.page))
    rows = [4] * (-(-len(lib.items) // 4)) if lib.items else []
    if nav := add_pager(kb, lib.page, lib.pages, lambda p: CreativeCb(a="list", n=p)):
        rows.append(nav)
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    rows.append(1)
    kb.adjust(*rows)
    return "\n".join(lines), kb.as_markup()


def card(found: CreativeCard, user_tz: str, page: int = 0) -> Screen:
    """One creative: its facts (a photo caption when it has a thumbnail, so under 1024)."""
    c = found.creative
    lines = [f"{icon(c)} <b>{html.quote(c.name)}</b>", ""]
    lines.append(_("Type: {kind}").format(kind=kind_text(c)))
    if c.source_url:
        link = c.source_url if len(c.source_url) <= LINK_SHOWN else c.source_url[:LINK_SHOWN] + "…"
        lines.append(_("Link: {url}").format(url=html.quote(link)))
        lines.append(_("TikTok fetches it from the link when it is first used."))
    else:
        lines.append(_("Size: {size}").format(size=size_text(c.size)))
    if c.kind == "video" and c.duration is not None:
        lines.append(_("Duration: {duration}").format(duration=duration_text(c.duration)))
    if c.width and c.height:
        lines.append(_("Dimensions: {width}×{height}").format(width=c.width, height=c.height))
    if not c.source_url:
        lines.append(_("Checksum (MD5): {md5}").format(md5=f"<code>{c.md5}</code>"))
    if c.file_name and c.file_name != c.name:
        lines.append(_("File: {name}").format(name=html.quote(c.file_name[:100])))
    added = c.created_at.astimezone(ZoneInfo(user_tz)).strftime("%d.%m.%Y %H:%M")
    lines.append(_("Added: {when}").format(when=added))
    if found.uploaded_to:
        lines.append(
            _("Already uploaded to TikTok in {count} ad accounts.").format(count=found.uploaded_to)
        )
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✏️ Rename"), callback_data=CreativeCb(a="ren", id=c.id, n=page))
    kb.button(text=_("🗑 Delete"), callback_data=CreativeCb(a="del", id=c.id, n=page))
    kb.button(text=_("« Library"), callback_data=CreativeCb(a="list", n=page))
    kb.adjust(2, 1)
    return "\n".join(lines), kb.as_markup()


def added(result: Added) -> Screen:
    """After a file or link was sent: added, or already there."""
    c = result.creative
    line = f"{icon(c)} <b>{html.quote(c.name)}</b> · {facts(c)}"
    if result.created:
        text = _("✅ Added to your library:") + "\n" + line
    else:
        text = _("ℹ️ This file is already in your library:") + "\n" + line
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Open"), callback_data=CreativeCb(a="open", id=c.id))
    kb.button(text=_("🎞 Library"), callback_data=CreativeCb(a="list"))
    kb.adjust(2)
    return text, kb.as_markup()


def receiving(name: str, done: int, total: int) -> str:
    """Progress while a big file comes in from Telegram."""
    percent = min(100, done * 100 // max(total, 1))
    return _("⏳ Receiving {name}: {done} of {total}, {percent}%").format(
        name=html.quote(name), done=size_text(done), total=size_text(total), percent=percent
    )


def too_big(size: int) -> str:
    """A file over the Bot API's 20 MB download limit."""
    return _(
        "This file is {size}: Telegram lets bots download files of up to 20 MB only. Upload it "
        "somewhere that gives a direct link (ending in .mp4, .mov, .jpg or .png) and send me "
        "the link instead — TikTok will fetch the file from there."
    ).format(size=size_text(size))


def download_failed() -> str:
    """Telegram did not hand a file over."""
    return _("Telegram did not hand the file over. Please send it again.")


def ask_kind(url: str) -> Screen:
    """A link that does not say what it points to."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🎬 Video"), callback_data=CreativeCb(a="kind", v="video"))
    kb.button(text=_("🖼 Image"), callback_data=CreativeCb(a="kind", v="image"))
    kb.adjust(2)
    shown = url if len(url) <= LINK_SHOWN else url[:LINK_SHOWN] + "…"
    text = _("Is this link a video or an image?\n{url}").format(url=html.quote(shown))
    return text, kb.as_markup()


def ask_rename(c: Creative) -> str:
    """Prompt for a new name."""
    return _(
        "Send the new name for <b>{name}</b> (up to {max} characters), or /cancel to keep it."
    ).format(name=html.quote(c.name), max=NAME_MAX)


def renamed(c: Creative) -> str:
    """Rename done."""
    return _("✅ Renamed to <b>{name}</b>.").format(name=html.quote(c.name))


def confirm_delete(c: Creative, page: int) -> Screen:
    """Ask before deleting."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, delete"), callback_data=CreativeCb(a="delok", id=c.id, n=page))
    kb.button(text=_("Cancel"), callback_data=CreativeCb(a="open", id=c.id, n=page))
    kb.adjust(2)
    return _(
        "Delete <b>{name}</b> from your library? Copies already uploaded to TikTok stay there, "
        "and ads using them keep running."
    ).format(name=html.quote(c.name)), kb.as_markup()


def deleted() -> str:
    """The pop-up after a delete."""
    return _("Deleted from your library.")


def library_hint() -> str:
    """Typed text in the library that is not a link."""
    return _(
        "Send a video, an image or a link starting with https:// to add it to your library. "
        "/menu leaves the library."
    )


def not_media() -> str:
    """A file that is neither a video nor an image."""
    return _(
        "Only videos (MP4, MOV, MPEG, AVI) and images (JPG, PNG) go into the creative library."
    )


def not_found() -> str:
    """A button for a creative that is not the presser's (or was deleted)."""
    return _("That creative is not in your library (or was deleted).")


def error(exc: CreativeError) -> str:
    """Why a file, link or name was not taken."""
    if isinstance(exc, EmptyFile):
        return _("That file is empty.")
    if isinstance(exc, UnsupportedFile):
        return _(
            "TikTok takes videos as MP4, MOV, MPEG or AVI and images as JPG or PNG; this file "
            "is none of those."
        )
    if isinstance(exc, FileTooLarge):
        return _("This file is {size}; TikTok takes at most {limit}.").format(
            size=size_text(exc.size), limit=size_text(exc.limit)
        )
    if isinstance(exc, TooManyPixels):
        return _(
            "This image is {width}×{height}; TikTok takes images of at most 3,686,400 pixels "
            "(for example 1920×1920)."
        ).format(width=exc.width, height=exc.height)
    if isinstance(exc, BadLink):
        return _("That is not a link I can use: send one starting with http:// or https://.")
    if isinstance(exc, BadName):
        return _("A name needs 1 to {max} characters. Send another one.").format(max=NAME_MAX)
    if isinstance(exc, CreativeNotFound):
        return not_found()
    if isinstance(exc, ChecksumMismatch):
        return _("The file changed since it was added. Send it again.")
    return _("That file could not be added. Please try again.")
