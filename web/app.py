"""The dashboard application, mounted under /app/ on the service's aiohttp server."""

from __future__ import annotations

from aiohttp import web

from web import (
    auth_routes,
    billing_routes,
    cookies,
    launch_routes,
    manage_routes,
    pages,
    privacy_routes,
    rules_routes,
    settings_routes,
    signin_routes,
    template_routes,
)
from web.deps import HERE, WebDeps
from web.render import missing_page, setup_templates
from web.security import DEPS_KEY, headers, session

PREFIX = "/app"


def build_dashboard(deps: WebDeps) -> web.Application:
    """Pages, sign-in, static files (ours and uPlot's from web/node_modules)."""
    app = web.Application(middlewares=[headers, session, cookies.analytics, missing_page])
    app[DEPS_KEY] = deps
    setup_templates(app, deps.i18n)
    signin_routes.setup(app, deps)
    app.router.add_routes(auth_routes.routes)
    app.router.add_routes(signin_routes.routes)
    app.router.add_routes(cookies.routes)
    app.router.add_routes(pages.routes)
    app.router.add_routes(manage_routes.routes)
    app.router.add_routes(rules_routes.routes)
    app.router.add_routes(launch_routes.routes)
    app.router.add_routes(template_routes.routes)
    app.router.add_routes(settings_routes.routes)
    app.router.add_routes(privacy_routes.routes)
    app.router.add_routes(billing_routes.routes)
    if deps.vendor_dir.is_dir():  # before /static/, which would otherwise take its paths
        app.router.add_static("/static/vendor/", deps.vendor_dir, name="vendor")
    app.router.add_static("/static/", HERE / "static", name="static")
    return app


def mount(parent: web.Application, deps: WebDeps) -> None:
    """Serve the dashboard at /app/ of `parent`."""
    parent.add_subapp(PREFIX, build_dashboard(deps))
