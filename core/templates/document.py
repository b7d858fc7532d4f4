"""Templates as versioned JSON documents, for export and import.

    {"format": "ttpulse.template", "version": 1, "name": ..., "naming": {...},
     "campaign": {...}, "adgroups": [{...}, ...], "ad": {...}}

Keys are the model's field names; amounts are strings ("50.00"), never JSON numbers, so no
float ever touches money. A key with a default in the model may be left out. The import is
strict: unknown keys, wrong types and anything `validate` rejects raise `TemplateImportError`
with every problem found (dotted paths, as `validate` gives them).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from core.templates.model import (
    AdGroupSpec,
    AdSpec,
    AudiencePicks,
    CampaignSpec,
    CatalogTarget,
    Naming,
    Template,
)
from core.templates.validate import Problem, validate

# Problem codes only the import gives (beside validate.CODES).
IMPORT_CODES: tuple[str, ...] = (
    "unknown_key",
    "wrong_type",
    "amount_invalid",
    "format_unknown",
    "version_unsupported",
)
FORMAT = "ttpulse.template"
VERSION = 1
_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,15})?$")
_MISSING = object()


class TemplateImportError(ValueError):
    """A document that is not a valid template; `problems` says what and where."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the template document")
        self.problems = problems


def to_document(template: Template) -> dict[str, Any]:
    """The template as a JSON-ready dict (amounts as strings)."""
    return {"format": FORMAT, "version": VERSION, **_dump(template)}


def from_document(doc: Any) -> Template:
    """A template from a decoded JSON document; raises TemplateImportError when the document
    is malformed or the template breaks a rule (currency minimums are pre-flight's)."""
    template = parse_document(doc)
    problems = validate(template)
    if problems:
        raise TemplateImportError(problems)
    return template


def parse_document(doc: Any) -> Template:
    """A template from a decoded JSON document, checking its shape only (keys, types,
    amounts), not the rules: for drafts and stored templates that a newer rule may reject,
    which must still open for editing. Raises TemplateImportError."""
    if not isinstance(doc, dict):
        raise TemplateImportError([Problem("", "wrong_type", {"expected": "object"})])
    header = _header(doc)
    if header:
        raise TemplateImportError(header)
    body = {k: v for k, v in doc.items() if k not in ("format", "version")}
    problems: list[Problem] = []
    template = _load(Template, body, "", problems)
    if template is None or problems:
        raise TemplateImportError(problems)
    return template


def _header(doc: dict[str, Any]) -> list[Problem]:
    if doc.get("format", _MISSING) is _MISSING:
        return [Problem("format", "required")]
    if doc["format"] != FORMAT:
        return [Problem("format", "format_unknown", {"expected": FORMAT})]
    version = doc.get("version", _MISSING)
    if version is _MISSING:
        return [Problem("version", "required")]
    if type(version) is not int or version != VERSION:
        return [Problem("version", "version_unsupported", {"supported": [VERSION]})]
    return []


# ---- export ---------------------------------------------------------------------------------


def _dump(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _dump(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [_dump(item) for item in obj]
    if isinstance(obj, Decimal):
        return format(obj, "f")  # plain digits, never an exponent
    return obj


# ---- import ---------------------------------------------------------------------------------

Reader = Callable[[Any, str, list[Problem]], Any]


def _load(cls: type[Any], raw: Any, path: str, problems: list[Problem]) -> Any:
    """An instance of a model dataclass from a dict, or None (problems appended)."""
    if not isinstance(raw, dict):
        problems.append(Problem(path, "wrong_type", {"expected": "object"}))
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    before = len(problems)
    for key in raw:
        if key not in fields:
            problems.append(Problem(_join(path, str(key)), "unknown_key"))
    values: dict[str, Any] = {}
    for name, f in fields.items():
        sub = _join(path, name)
        if name not in raw:
            has_default = (
                f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            )
            if not has_default:
                problems.append(Problem(sub, "required"))
            continue
        values[name] = _READERS[str(f.type)](raw[name], sub, problems)
    if len(problems) > before:
        return None
    return cls(**values)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _str(value: Any, path: str, problems: list[Problem]) -> str | None:
    if isinstance(value, str):
        return value
    problems.append(Problem(path, "wrong_type", {"expected": "string"}))
    return None


def _bool(value: Any, path: str, problems: list[Problem]) -> bool | None:
    if isinstance(value, bool):
        return value
    problems.append(Problem(path, "wrong_type", {"expected": "boolean"}))
    return None


def _int(value: Any, path: str, problems: list[Problem]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    problems.append(Problem(path, "wrong_type", {"expected": "integer"}))
    return None


def _amount(value: Any, path: str, problems: list[Problem]) -> Decimal | None:
    if not isinstance(value, str):
        # Amounts are strings so that no float ever holds money.
        problems.append(Problem(path, "wrong_type", {"expected": "amount"}))
        return None
    if not _AMOUNT.match(value):
        problems.append(Problem(path, "amount_invalid", {"value": value[:40]}))
        return None
    return Decimal(value)


def _optional(read: Reader) -> Reader:
    def inner(value: Any, path: str, problems: list[Problem]) -> Any:
        return None if value is None else read(value, path, problems)

    return inner


def _list_of(read: Reader) -> Reader:
    def inner(value: Any, path: str, problems: list[Problem]) -> tuple[Any, ...] | None:
        if not isinstance(value, list):
            problems.append(Problem(path, "wrong_type", {"expected": "list"}))
            return None
        return tuple(read(item, f"{path}[{i}]", problems) for i, item in enumerate(value))

    return inner


def _model(cls: type[Any]) -> Reader:
    return lambda value, path, problems: _load(cls, value, path, problems)


# Keyed by the model's annotations (strings, under `from __future__ import annotations`), so a
# field added to the model with a new kind of type fails loudly here rather than passing
# through unchecked.
_READERS: dict[str, Reader] = {
    "str": _str,
    "str | None": _optional(_str),
    "bool": _bool,
    "int | None": _optional(_int),
    "Decimal": _amount,
    "Decimal | None": _optional(_amount),
    "tuple[str, ...]": _list_of(_str),
    "CampaignSpec": _model(CampaignSpec),
    "tuple[AdGroupSpec, ...]": _list_of(_model(AdGroupSpec)),
    "AdSpec": _model(AdSpec),
    "Naming": _model(Naming),
    "CatalogTarget | None": _optional(_model(CatalogTarget)),
    "tuple[AudiencePicks, ...]": _list_of(_model(AudiencePicks)),
}
