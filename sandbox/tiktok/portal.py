"""The advertiser consent page (spec §2.1–§2.2): plain HTML, links only, no JavaScript.

``GET <consent_path>?app_id=…&state=…&redirect_uri=…[&user=<login>]`` shows the app, the
logged-in emulated user (``user`` picks one; default the fixture's owner, e.g. ``demo``),
links to switch user, the permissions asked for, and two links: Authorize and Cancel.
Authorize redirects (302) to ``redirect_uri?auth_code=X&code=X&state=S``; Cancel redirects to
``redirect_uri?error=access_denied&error_description=…&state=S`` (not documented: OAuth 2
convention).

Permissions: ads management and reporting are always granted; each optional scope (comments,
pixels, audiences, catalogs; sandbox/tiktok/scopes.py) is a ticked checkbox in a form whose
submit button authorizes with the ticked ones, and — for clients that cannot untick a box, such
as the terminal chat — a "Withhold …" / "Grant …" link that reloads the page with
``withhold=<group>,…``; the Authorize link carries that choice. The token answer's ``scope``
lists what was granted (spec §2.3).
"""

from __future__ import annotations

import html
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from sandbox.tiktok.core import Emulator
from sandbox.tiktok.model import AuthCode
from sandbox.tiktok.scopes import GROUP_TITLES, OPTIONAL_GROUPS, REQUIRED_GROUPS


def _with_query(url: str, extra: dict[str, str]) -> str:
    """Append query parameters to a URL."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _page(title: str, body: str, status: int = 200) -> web.Response:
    """A minimal HTML page."""
    doc = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body>{body}</body></html>"
    )
    return web.Response(text=doc, content_type="text/html", status=status)


class Portal:
    """Consent page handlers bound to one emulator."""

    def __init__(self, emu: Emulator) -> None:
        """Keep the emulator."""
        self.emu = emu

    def _check(self, request: web.Request) -> tuple[dict[str, str], str] | web.Response:
        """Validate app_id / redirect_uri / user; return (params, login) or an error page."""
        q = request.query
        app_id = q.get("app_id", "")
        redirect_uri = q.get("redirect_uri", "")
        world = self.emu.world
        if app_id not in world.apps:
            return _page("Error", "<h1>Invalid app_id</h1><p>The app does not exist.</p>", 400)
        if not redirect_uri.startswith(("http://", "https://")):
            return _page("Error", "<h1>Invalid redirect_uri</h1>", 400)
        allowed = self.emu.config.redirect_uris
        if allowed and redirect_uri not in allowed:
            return _page("Error", "<h1>redirect_uri does not match the app's settings</h1>", 400)
        login = q.get("user") or world.default_login
        if login not in world.users:
            return _page("Error", f"<h1>Unknown user {html.escape(login)}</h1>", 400)
        params = {"app_id": app_id, "state": q.get("state", ""), "redirect_uri": redirect_uri}
        return params, login

    @staticmethod
    def _withheld(request: web.Request) -> list[str]:
        """The optional groups the person withheld: unticked boxes of the submitted form
        (``scopes_form`` marks it), else the ``withhold`` list of the links."""
        q = request.query
        if q.get("scopes_form"):
            ticked = set(q.getall("scope", []))
            return [g for g in OPTIONAL_GROUPS if g not in ticked]
        asked = {g for g in q.get("withhold", "").split(",") if g}
        return [g for g in OPTIONAL_GROUPS if g in asked]

    async def consent(self, request: web.Request) -> web.Response:
        """The page: who is logging in, which accounts, Authorize / Cancel."""
        checked = self._check(request)
        if isinstance(checked, web.Response):
            return checked
        params, login = checked
        world = self.emu.world
        app = world.apps[params["app_id"]]
        user = world.users[login]
        # Absolute links, so a terminal client can follow them without resolving.
        base = str(request.url.origin()) + self.emu.config.consent_path
        esc = html.escape
        accounts = (
            "".join(
                f"<li>{esc(adv.name)} ({esc(adv.advertiser_id)}, {adv.currency})</li>"
                for adv in (world.advertisers[a] for a in user.advertiser_ids)
            )
            or "<li>No ad accounts</li>"
        )
        others = " | ".join(
            f'<a href="{esc(base + "?" + urlencode({**params, "user": u}))}">{esc(u)}</a>'
            for u in world.users
            if u != login
        )
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{esc(v)}">' for k, v in params.items()
        )
        options = "".join(
            f'<option value="{esc(u)}"{" selected" if u == login else ""}>{esc(u)}</option>'
            for u in world.users
        )
        withheld = self._withheld(request)
        choice = {"withhold": ",".join(withheld)} if withheld else {}
        authorize = f"{base}/authorize?{urlencode({**params, 'user': login, **choice})}"
        cancel = f"{base}/cancel?{urlencode({**params, 'user': login})}"
        required = ", ".join(GROUP_TITLES[g] for g in REQUIRED_GROUPS)
        boxes, toggles = [], []
        for group in OPTIONAL_GROUPS:
            on = group not in withheld
            title = esc(GROUP_TITLES[group])
            # The state in words too: a text browser (the terminal chat) shows no tick.
            state = "granted" if on else "withheld"
            boxes.append(
                f'<li><label><input type="checkbox" name="scope" value="{group}"'
                f'{" checked" if on else ""}> {title}</label> ({state})</li>'
            )
            flipped = [g for g in withheld if g != group] + ([] if not on else [group])
            again = {**params, "user": login}
            if flipped:
                again["withhold"] = ",".join(g for g in OPTIONAL_GROUPS if g in flipped)
            verb = "Withhold" if on else "Grant"
            toggles.append(f'<a href="{esc(base + "?" + urlencode(again))}">{verb} {title}</a>')
        permissions = (
            f"<p>Always granted: {esc(required)}.</p>"
            f'<form method="get" action="{esc(base)}/authorize">{hidden}'
            f'<input type="hidden" name="user" value="{esc(login)}">'
            '<input type="hidden" name="scopes_form" value="1">'
            f"<p>Optional permissions:</p><ul>{''.join(boxes)}</ul>"
            '<button type="submit">Authorize with the ticked permissions</button></form>'
            f"<p>{' | '.join(toggles)}</p>"
        )
        body = (
            f"<h1>TikTok for Business</h1>"
            f"<p><b>{esc(app.name)}</b> (app {esc(app.app_id)}) "
            "wants to access your ad accounts.</p>"
            f"<p>Logged in as <b>{esc(user.display_name)}</b> (user={esc(login)}).</p>"
            f"<ul>{accounts}</ul>"
            f"<p>Switch user: {others}</p>"
            f'<form method="get" action="{esc(base)}">{hidden}'
            f'<select name="user">{options}</select> <button type="submit">Switch user</button>'
            "</form>"
            f"{permissions}"
            f'<p><a href="{esc(authorize)}">Authorize</a> '
            f'<a href="{esc(cancel)}">Cancel</a></p>'
        )
        return _page("Authorize app", body)

    async def authorize(self, request: web.Request) -> web.Response:
        """Issue a one-hour single-use code and redirect back (spec §2.2)."""
        checked = self._check(request)
        if isinstance(checked, web.Response):
            return checked
        params, login = checked
        code = secrets.token_hex(20)
        withheld = self._withheld(request)
        granted = list(REQUIRED_GROUPS) + [g for g in OPTIONAL_GROUPS if g not in withheld]
        self.emu.world.auth_codes[code] = AuthCode(
            code=code,
            app_id=params["app_id"],
            login=login,
            redirect_uri=params["redirect_uri"],
            created=self.emu.clock.timestamp(),
            scope=self.emu.scope_ids(granted),
        )
        # auth_code and code carry the same value (spec §2.2); state echoed unchanged.
        target = _with_query(
            params["redirect_uri"], {"auth_code": code, "code": code, "state": params["state"]}
        )
        raise web.HTTPFound(target)

    async def cancel(self, request: web.Request) -> web.Response:
        """Redirect back with an access_denied error."""
        checked = self._check(request)
        if isinstance(checked, web.Response):
            return checked
        params, _ = checked
        target = _with_query(
            params["redirect_uri"],
            {
                "error": "access_denied",
                "error_description": "The user cancelled the authorization.",
                "state": params["state"],
            },
        )
        raise web.HTTPFound(target)

    def register(self, app: web.Application) -> None:
        """Add the routes."""
        base = self.emu.config.consent_path
        app.router.add_get(base, self.consent)
        if base != "/marketing_api/auth":
            # The older consent URL is still accepted (spec §2.1); its links go to ``base``.
            app.router.add_get("/marketing_api/auth", self.consent)
        app.router.add_get(base + "/authorize", self.authorize)
        app.router.add_post(base + "/authorize", self.authorize)
        app.router.add_get(base + "/cancel", self.cancel)
        app.router.add_post(base + "/cancel", self.cancel)
