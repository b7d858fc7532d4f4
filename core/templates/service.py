"""Template use-cases for the chat: save, list, open, duplicate, delete, export and import.

Every lookup is by owner: another user's template id finds nothing. A template is stored as
its versioned JSON document (`document.to_document`), checked with `validate` before it is
saved, so what is stored always passed the builder's and the import's rules at the time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError

from core.templates.document import (
    TemplateImportError,
    from_document,
    parse_document,
    to_document,
)
from core.templates.model import Template
from core.templates.validate import TEMPLATE_NAME_MAX, Problem, validate
from storage.models import Template as TemplateRow
from storage.uow import UnitOfWorkFactory

MAX_TEMPLATES = 100
IMPORT_MAX_BYTES = 256 * 1024  # a template is a few KB; anything this big is not one
PER_PAGE = 8
_COPY = re.compile(r"^(?P<base>.*?) \(copy(?: (?P<n>\d+))?\)$")
_FILE_UNSAFE = re.compile(r"[^\w.-]+")


class TemplateError(Exception):
    """Base of what the template use-cases refuse."""


class TemplateInvalid(TemplateError):
    """The template breaks a rule; `problems` says where and what."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the template")
        self.problems = problems


class TemplateNameTaken(TemplateError):
    """The user already has another template with this name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class TemplateNotFound(TemplateError):
    """No such template of this user (gone, or someone else's)."""


class TooManyTemplates(TemplateError):
    """The user has `limit` templates already."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} templates")
        self.limit = limit


class ImportRejected(TemplateError):
    """A file that cannot be imported: `reason` is too_big, not_json or invalid (then
    `problems` lists what is wrong, with paths)."""

    def __init__(self, reason: str, problems: list[Problem] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problems = problems or []


@dataclass(frozen=True)
class Listing:
    """One page of the user's templates, by name."""

    items: list[TemplateRow]
    total: int
    page: int
    pages: int


def load(row: TemplateRow) -> Template:
    """The template a stored row holds (its shape only is checked, so a template a newer
    rule rejects still opens for editing)."""
    return parse_document(row.document)


async def save(
    uow: UnitOfWorkFactory, user_id: int, template: Template, template_id: int | None = None
) -> TemplateRow:
    """Create a template, or replace template `template_id`, after checking every rule and
    that the name is not another of the user's templates."""
    template = replace(template, name=template.name.strip())
    problems = validate(template)
    if problems:
        raise TemplateInvalid(problems)
    async with uow() as u:
        clash = await u.templates.by_name(user_id, template.name)
        if clash is not None and clash.id != template_id:
            raise TemplateNameTaken(template.name)
        if template_id is None:
            if await u.templates.count(user_id) >= MAX_TEMPLATES:
                raise TooManyTemplates(MAX_TEMPLATES)
            row = TemplateRow(user_id=user_id, name=template.name, document=to_document(template))
            u.templates.add(row)
        else:
            found = await u.templates.update(
                user_id, template_id, name=template.name, document=to_document(template)
            )
            if found is None:
                raise TemplateNotFound(template_id)
            row = found
        try:
            await u.commit()
        except IntegrityError as exc:  # the same name saved at the same moment elsewhere
            raise TemplateNameTaken(template.name) from exc
    return row


async def get(uow: UnitOfWorkFactory, user_id: int, template_id: int) -> TemplateRow | None:
    """One of the user's templates."""
    async with uow() as u:
        return await u.templates.get(user_id, template_id)


async def listing(
    uow: UnitOfWorkFactory, user_id: int, page: int = 0, per_page: int = PER_PAGE
) -> Listing:
    """A page of the user's templates by name (the page clamped into range)."""
    async with uow() as u:
        total = await u.templates.count(user_id)
        pages = max(1, -(-total // per_page))
        page = min(max(page, 0), pages - 1)
        items = await u.templates.of_user(user_id, per_page, page * per_page)
    return Listing(items, total, page, pages)


def copy_name(name: str, taken: set[str]) -> str:
    """`<name> (copy)`, `<name> (copy 2)`… — the first free one, cut to fit the name limit
    (a copy of a copy counts on from the original's name)."""
    found = _COPY.match(name)
    base = found.group("base") if found and found.group("base").strip() else name
    n = 1
    while True:
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        candidate = base[: TEMPLATE_NAME_MAX - len(suffix)].rstrip() + suffix
        if candidate not in taken:
            return candidate
        n += 1


async def duplicate(uow: UnitOfWorkFactory, user_id: int, template_id: int) -> TemplateRow:
    """A copy of a template under the next free `(copy)` name."""
    async with uow() as u:
        row = await u.templates.get(user_id, template_id)
        if row is None:
            raise TemplateNotFound(template_id)
        taken = await u.templates.names(user_id)
    template = load(row)
    return await save(uow, user_id, replace(template, name=copy_name(template.name, taken)))


async def delete(uow: UnitOfWorkFactory, user_id: int, template_id: int) -> None:
    """Delete a template; launches made from it keep the copy they were made with."""
    async with uow() as u:
        if not await u.templates.remove(user_id, template_id):
            raise TemplateNotFound(template_id)
        await u.commit()


async def export_json(uow: UnitOfWorkFactory, user_id: int, template_id: int) -> bytes:
    """The template's versioned JSON document, pretty-printed UTF-8."""
    row = await get(uow, user_id, template_id)
    if row is None:
        raise TemplateNotFound(template_id)
    doc = to_document(load(row))
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def export_file_name(name: str) -> str:
    """A file name for a template's export: `template-<name>.json`, safe on every system."""
    slug = _FILE_UNSAFE.sub("-", name).strip("-.")[:48] or "template"
    return f"template-{slug}.json"


async def import_json(uow: UnitOfWorkFactory, user_id: int, data: bytes) -> TemplateRow:
    """A template from an exported JSON file, checked like the builder checks; a name the
    user already has is imported as a copy."""
    if len(data) > IMPORT_MAX_BYTES:
        raise ImportRejected("too_big")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ImportRejected("not_json") from exc
    try:
        template = from_document(doc)
    except TemplateImportError as exc:
        raise ImportRejected("invalid", exc.problems) from exc
    template = replace(template, name=template.name.strip())
    async with uow() as u:
        taken = await u.templates.names(user_id)
    if template.name in taken:
        template = replace(template, name=copy_name(template.name, taken))
    return await save(uow, user_id, template)
