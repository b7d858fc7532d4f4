"""Web pages in the terminal chat: an HTML page's visible text, links and forms, the links and
form buttons made numbered choices (/open in sandbox/telegram/chat.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Choice:
    """Something on a web page the user can pick: a link or a form submit button."""

    label: str
    kind: str  # "link" or "form"
    url: str
    method: str = "GET"
    fields: list[tuple[str, str]] = field(default_factory=list)
    prompts: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    prompts: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str | None, str]] = field(default_factory=list)


_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
               "form", "section", "article", "header", "footer", "table", "hr", "main"}
_SKIP_TAGS = {"script", "style", "noscript", "template", "head"}


class PageParser(HTMLParser):
    """Extract visible text, links and forms from an HTML page."""

    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.title = ""
        self.text_parts: list[str] = []
        self.choices: list[Choice] = []
        self._skip = 0
        self._in_title = False
        self._link: tuple[str, list[str]] | None = None
        self._form: _Form | None = None
        self._button: tuple[str | None, str, list[str]] | None = None
        self._select: tuple[str, list[str], str | None] | None = None
        self._textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Track links, forms and their inputs."""
        a = {k: v or "" for k, v in attrs}
        if tag == "title":
            self._in_title = True
        if tag in _SKIP_TAGS:
            self._skip += 1
        if tag in _BLOCK_TAGS:
            self.text_parts.append("\n")
        if tag == "a" and "href" in a:
            self._link = (urljoin(self.base_url, a["href"]), [])
        elif tag == "form":
            action = urljoin(self.base_url, a.get("action") or self.base_url)
            self._form = _Form(action, (a.get("method") or "GET").upper())
        elif tag == "input" and self._form is not None:
            self._input(a)
        elif tag == "button" and self._form is not None:
            if (a.get("type") or "submit").lower() == "submit":
                self._button = (a.get("name") or None, a.get("value", ""), [])
        elif tag == "select" and self._form is not None and a.get("name"):
            self._select = (a["name"], [], None)
        elif tag == "option" and self._select is not None:
            name, options, selected = self._select
            options.append(a.get("value", ""))
            if "selected" in a:
                selected = a.get("value", "")
            self._select = (name, options, selected)
        elif tag == "textarea" and self._form is not None and a.get("name"):
            self._textarea = (a["name"], [])

    def _input(self, a: dict[str, str]) -> None:
        assert self._form is not None
        kind = (a.get("type") or "text").lower()
        name = a.get("name", "")
        if kind in ("submit", "image"):
            self._form.buttons.append((a.get("value") or "Submit", name or None,
                                       a.get("value", "")))
        elif kind in ("checkbox", "radio"):
            if "checked" in a and name:
                self._form.fields.append((name, a.get("value") or "on"))
        elif kind in ("button", "reset", "file"):
            return
        elif name:
            value = a.get("value", "")
            if kind != "hidden" and not value:
                self._form.prompts.append((name, kind))
            else:
                self._form.fields.append((name, value))

    def handle_endtag(self, tag: str) -> None:
        """Close links, buttons and forms into choices."""
        if tag == "title":
            self._in_title = False
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        if tag in _BLOCK_TAGS:
            self.text_parts.append("\n")
        if tag == "a" and self._link is not None:
            href, parts = self._link
            label = " ".join("".join(parts).split()) or href
            self.choices.append(Choice(label, "link", href))
            self._link = None
        elif tag == "button" and self._button is not None and self._form is not None:
            name, value, parts = self._button
            label = " ".join("".join(parts).split()) or value or "Submit"
            self._form.buttons.append((label, name, value))
            self._button = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options, selected = self._select
            if selected is not None or options:
                self._form.fields.append((name, selected if selected is not None else options[0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            name, parts = self._textarea
            self._form.fields.append((name, "".join(parts)))
            self._textarea = None
        elif tag == "form" and self._form is not None:
            form = self._form
            buttons = form.buttons or [("Submit", None, "")]
            for label, name, value in buttons:
                extra = [(name, value)] if name else []
                self.choices.append(Choice(f"{label}", "form", form.action, form.method,
                                           form.fields + extra, list(form.prompts)))
            self._form = None

    def handle_data(self, data: str) -> None:
        """Collect visible text."""
        if self._in_title:
            self.title += data
        if self._skip:
            return
        self.text_parts.append(data)
        if self._link is not None:
            self._link[1].append(data)
        if self._button is not None:
            self._button[2].append(data)
        if self._textarea is not None:
            self._textarea[1].append(data)

    def visible_text(self) -> str:
        """The page text with whitespace tidied."""
        lines = [" ".join(line.split()) for line in "".join(self.text_parts).splitlines()]
        return "\n".join(line for line in lines if line)
