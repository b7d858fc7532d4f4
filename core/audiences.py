"""Custom and lookalike audiences per ad account (issue 17 "Audiences"), behind the user's
"audiences" switch: a user who has not switched it on causes no call to a dmp/ endpoint.

A customer file the user sends (emails or phone numbers) is normalised and SHA-256 hashed in
memory here, as TikTok requires (spec §9: files carry hashed identifiers with a
``calculate_type``); only the hashes leave this module. The raw bytes are never written
anywhere — not to disk, the database, the FSM storage or a log line — and no exception raised
here carries a row of them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.feature_access import FeatureError, account_access
from core.templates.document import TemplateImportError, parse_document
from core.templates.service import MAX_TEMPLATES
from core.tiktok import TikTokClient, TikTokError
from core.tiktok.audiences import (
    Audience,
    create_audience,
    create_lookalike,
    delete_audiences,
    list_audiences,
    upload_file,
)
from storage.models import AdAccount
from storage.uow import UnitOfWorkFactory

FEATURE = "audiences"
MAX_FILE_BYTES = 10 * 1024 * 1024  # a customer file sent in the chat (Bot API getFile: 20 MB)
MIN_ROWS = 1
LOOKALIKE_MIN_SOURCE = 100  # TikTok: a lookalike's source has at least 100 people (SDK docs)
# Fewer people than this in a targeted audience rarely lets an ad group deliver (TikTok's
# help centre asks for at least 1,000 matched users) [U]: pre-flight warns, it does not stop.
TARGETING_MIN_SIZE = 1000
EMAIL = "EMAIL_SHA256"
PHONE = "PHONE_SHA256"
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]{2,}$")
_CELL = re.compile(r"[,;\t|]")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()./-]{6,24}$")


class BadFile(FeatureError):
    """A customer file we cannot use: `code` empty, too_big, no_rows or not_text."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class NotReady(FeatureError):
    """A lookalike's source is still being computed by TikTok."""

    code = "not_ready"


class TooSmall(FeatureError):
    """A lookalike's source reaches fewer than LOOKALIKE_MIN_SOURCE people."""

    code = "too_small"


class AudienceNotFound(FeatureError):
    """No such audience in the ad account (any more)."""

    code = "audience"


class AudienceInUse(FeatureError):
    """A saved template of the user still includes or excludes the audience: `templates`
    names them."""

    code = "in_use"

    def __init__(self, templates: list[str]) -> None:
        super().__init__(", ".join(templates))
        self.templates = templates


class NotDeleted(FeatureError):
    """TikTok took the delete, but the audience is still listed when read back."""

    code = "not_deleted"


@dataclass(frozen=True, slots=True)
class HashedFile:
    """A customer file after hashing: what is uploaded (hex SHA-256 lines) and counts."""

    calculate_type: str
    content: bytes
    rows: int
    skipped: int


@dataclass(frozen=True, slots=True)
class AccountAudiences:
    """An ad account's audiences, custom and lookalike."""

    account: AdAccount
    audiences: tuple[Audience, ...]


def normalise_email(cell: str) -> str | None:
    """An email trimmed and lowercased (TikTok's rule before hashing), or None."""
    value = cell.strip().strip('"').strip().lower()
    return value if _EMAIL.match(value) else None


def normalise_phone(cell: str) -> str | None:
    """A phone number in E.164 (+ and 8-15 digits, country code included), or None. A leading
    00 is the international prefix; numbers without a country code cannot be told apart."""
    value = cell.strip().strip('"').strip()
    if not _PHONE_CHARS.match(value):
        return None
    digits = re.sub(r"\D", "", value)
    if not value.startswith("+") and digits.startswith("00"):
        digits = digits[2:]
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    return "+" + digits


def hash_file(data: bytes) -> HashedFile:
    """A CSV/TXT file of emails or phone numbers, normalised and SHA-256 hashed in memory.

    Every cell of every line is read (commas, semicolons, tabs split cells); the kind the
    file holds more of wins. `skipped` counts the non-empty lines that gave no new identifier
    of that kind (headers, other kinds, junk, repeats): lines, as the user counts them, not
    cells (a column of names beside the emails skips nothing)."""
    if not data.strip():
        raise BadFile("empty")
    if len(data) > MAX_FILE_BYTES:
        raise BadFile("too_big")
    if b"\x00" in data[:4096]:
        raise BadFile("not_text")
    text = data.decode("utf-8-sig", errors="replace")
    emails: dict[str, None] = {}
    phones: dict[str, None] = {}
    lines = email_lines = phone_lines = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        lines += 1
        had_emails, had_phones = len(emails), len(phones)
        for cell in _CELL.split(line):
            if "@" in cell:
                if (e := normalise_email(cell)) is not None:
                    emails[e] = None
            elif cell.strip() and (p := normalise_phone(cell)) is not None:
                phones[p] = None
        email_lines += len(emails) > had_emails
        phone_lines += len(phones) > had_phones
    del text
    if len(emails) >= len(phones):
        kind, chosen, used = EMAIL, emails, email_lines
    else:
        kind, chosen, used = PHONE, phones, phone_lines
    if len(chosen) < MIN_ROWS:
        raise BadFile("no_rows")
    hashed = [hashlib.sha256(v.encode()).hexdigest() for v in chosen]
    return HashedFile(kind, ("\n".join(hashed) + "\n").encode(), len(hashed), lines - used)


async def account_audiences(uow: UnitOfWorkFactory, client: TikTokClient, user_id: int,
                            account_id: int) -> AccountAudiences:
    """One of the user's ad accounts with its audiences, read live (raises FeatureError, or
    ScopeMissingError when the token lacks the audiences scope)."""
    account, token = await account_access(uow, user_id, account_id, FEATURE)
    found = await list_audiences(client, token, account.advertiser_id)
    return AccountAudiences(account, tuple(found))


Progress = Callable[[str], Awaitable[None]]


async def create_from_file(uow: UnitOfWorkFactory, client: TikTokClient, user_id: int,
                           account_id: int, name: str, hashed: HashedFile,
                           progress: Progress | None = None) -> str:
    """Upload a hashed file (its MD5 as the signature) and make a custom audience of it;
    `progress` hears "upload" then "create". The new audience's id."""
    account, token = await account_access(uow, user_id, account_id, FEATURE)
    if progress is not None:
        await progress("upload")
    path = await upload_file(client, token, account.advertiser_id, hashed.content,
                             hashed.calculate_type, "customers.txt")
    if progress is not None:
        await progress("create")
    return await create_audience(client, token, account.advertiser_id, name,
                                 hashed.calculate_type, [path])


async def make_lookalike(uow: UnitOfWorkFactory, client: TikTokClient, user_id: int,
                         account_id: int, source_id: str) -> tuple[str, bool]:
    """A lookalike of a computed custom audience: (its id, made now). Looks first, so a
    second tap finds the lookalike the first one made instead of making another."""
    account, token = await account_access(uow, user_id, account_id, FEATURE)
    audiences = await list_audiences(client, token, account.advertiser_id)
    source = next((a for a in audiences if a.audience_id == source_id), None)
    if source is None or source.kind != "custom":
        raise AudienceNotFound()
    made = next((a for a in audiences if a.source_id == source_id), None)
    if made is not None:
        return made.audience_id, False
    if not source.ready:
        raise NotReady()
    if source.size < LOOKALIKE_MIN_SOURCE:
        raise TooSmall()
    name = f"{source.name[:110]} · lookalike"
    return await create_lookalike(client, token, account.advertiser_id, name, source_id), True


async def audiences_by_id(client: TikTokClient, token: str, advertiser_id: str,
                          ids: list[str]) -> dict[str, Audience]:
    """Those of these audience ids the ad account has, with their size (launch pre-flight)."""
    if not ids:
        return {}
    return {a.audience_id: a for a in await list_audiences(client, token, advertiser_id, ids)
            if a.audience_id in ids}


async def missing_audiences(client: TikTokClient, token: str, advertiser_id: str,
                            ids: list[str]) -> list[str]:
    """Which of these audience ids the ad account does not have (launch pre-flight)."""
    if not ids:
        return []
    have = {a.audience_id for a in await list_audiences(client, token, advertiser_id, ids)}
    return [i for i in ids if i not in have]


async def templates_using(uow: UnitOfWorkFactory, user_id: int, advertiser_id: str,
                          audience_id: str) -> list[str]:
    """The names of the user's saved templates whose ad groups would target this audience in
    this ad account (its own picks, or the flat ids of templates saved before the picker)."""
    async with uow() as u:
        rows = await u.templates.of_user(user_id, MAX_TEMPLATES)
    names = []
    for row in rows:
        try:
            template = parse_document(row.document)
        except TemplateImportError:
            continue
        for g in template.adgroups:
            included, excluded = g.audiences_for(advertiser_id)
            if audience_id in included or audience_id in excluded:
                names.append(row.name)
                break
    return names


async def delete_audience(uow: UnitOfWorkFactory, client: TikTokClient, user_id: int,
                          account_id: int, audience_id: str) -> bool:
    """Delete one of an ad account's audiences unless a saved template uses it (raises
    AudienceInUse); read back that it is gone (else NotDeleted). False when it was gone
    already (a second tap)."""
    account, token = await account_access(uow, user_id, account_id, FEATURE)
    using = await templates_using(uow, user_id, account.advertiser_id, audience_id)
    if using:
        raise AudienceInUse(using)
    if not await audiences_by_id(client, token, account.advertiser_id, [audience_id]):
        return False
    try:
        await delete_audiences(client, token, account.advertiser_id, [audience_id])
    except TikTokError:
        # A lost reply or a race with another tap: what TikTok lists now decides.
        if await audiences_by_id(client, token, account.advertiser_id, [audience_id]):
            raise
        return True
    if await audiences_by_id(client, token, account.advertiser_id, [audience_id]):
        raise NotDeleted()
    return True
