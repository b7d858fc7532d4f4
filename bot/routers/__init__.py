"""One router per feature; `all_routers()` gives them in order, the catch-all last."""

from __future__ import annotations

from aiogram import Router


def all_routers() -> list[Router]:
    """Routers in the order they must see updates."""
    from bot.routers import (
        accounts,
        admin,
        audiences,
        billing,
        cancel,
        catalogs,
        comments,
        creatives,
        dashboard,
        fallback,
        identities,
        info,
        integrations,
        launch,
        manage,
        membership,
        menu,
        pixels,
        privacy_data,
        privacy_delete,
        privacy_rights,
        rule_actions,
        rule_builder,
        rules,
        settings,
        signup,
        stats,
        support,
        templates,
        tracker_mapping,
        web_signin,
    )

    return [
        membership.router,
        # Payments first: their service messages must never reach a flow's "not text" handler.
        billing.router,
        cancel.router,
        signup.router,
        accounts.router,
        stats.router,
        manage.router,
        rules.router,
        rule_builder.router,  # right after rules: its typed values are a rule flow's too
        rule_actions.router,
        templates.router,
        launch.router,
        creatives.router,
        identities.router,
        comments.router,
        pixels.router,
        catalogs.router,
        audiences.router,
        integrations.router,
        tracker_mapping.router,
        menu.router,
        settings.router,
        privacy_data.router,
        privacy_delete.router,
        privacy_rights.router,
        info.router,
        dashboard.router,
        web_signin.router,
        support.router,
        admin.router,
        fallback.router,
    ]
