"""/settings: language, time zone, email, marketing consent, alerts, optional TikTok features."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import SettingsCb
from bot.filters import TYPED
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.states import CommentStates, SettingsStates
from bot.views import comments as comments_view
from bot.views import permissions as permissions_view
from bot.views import settings as view
from bot.views import signup as signup_view
from core import comment_bursts
from core.clock import Clock
from core.features import FEATURES, grants, set_feature
from core.timezones import parse_time_zone, zone_and_offset
from core.users import (
    InvalidValue,
    set_email,
    set_language,
    set_marketing,
    set_quiet_hours,
    set_time_zone,
)
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="settings")


@router.message(Command("settings"))
async def settings_command(
    message: Message, state: FSMContext, db_user: User | None, clock: Clock
) -> None:
    """Show the current settings."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    # Leave any typing state, but keep what other screens hold in the conversation's data (a
    # launch or rule being prepared): changing a setting must not throw it away.
    await state.set_state(None)
    await show(message, view.overview(db_user, clock.now()))


@router.callback_query(SettingsCb.filter())
async def settings_action(
    query: CallbackQuery,
    callback_data: SettingsCb,
    state: FSMContext,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    clock: Clock,
    i18n: I18n,
) -> None:
    """Every settings button: open a picker, or apply a value and show the result."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    action, value, uid = callback_data.action, callback_data.value, db_user.id
    try:
        if action == "lang":
            screen = view.language_picker()
        elif action == "tz":
            await state.set_state(SettingsStates.time_zone)
            screen = view.zone_picker(clock.now())
        elif action == "email":
            await state.set_state(SettingsStates.email)
            screen = view.email_prompt(db_user.email is not None)
        elif action == "alerts":
            screen = view.alerts(db_user)
        elif action == "features":
            screen = permissions_view.features(db_user, await grants(uow, uid))
        elif action == "nwords":
            await state.set_state(CommentStates.negative)
            screen = comments_view.negative_prompt(db_user.negative_words,
                                                   db_user.burst_threshold,
                                                   comment_bursts.THRESHOLDS)
        elif action == "cwords":
            await state.set_state(CommentStates.words)
            screen = comments_view.words_prompt(db_user.comment_words)
        elif action == "feature":
            feature, _sep, turn = value.partition(".")
            if feature not in FEATURES or turn not in ("on", "off"):
                raise InvalidValue(value)
            db_user = await set_feature(uow, clock, uid, feature, turn == "on")
            screen = permissions_view.features(db_user, await grants(uow, uid))
        elif action == "quiet":
            start, end = view.QUIET.get(value, (-1, -1))
            db_user = await set_quiet_hours(uow, clock, uid, start, end)
            screen = view.alerts(db_user)
        elif action == "setlang":
            db_user = await set_language(uow, clock, uid, value)
        elif action == "settz":
            db_user = await set_time_zone(uow, clock, uid, value)
        elif action == "rmemail":
            db_user = await set_email(uow, clock, uid, None)
        elif action == "mkt" and value in ("on", "off"):
            db_user = await set_marketing(uow, clock, uid, value == "on")
        elif action != "show":
            raise InvalidValue(action)
    except InvalidValue:
        await query.answer(
            _("This button is no longer valid. Send /settings to continue."), show_alert=True
        )
        return
    if action in ("show", "setlang", "settz", "rmemail", "mkt"):
        await state.set_state(None)  # the data (a launch being prepared) stays
        with i18n.use_locale(db_user.language):
            screen = view.overview(db_user, clock.now())
            await show(query, screen)
            await query.answer(view.saved() if action != "show" else None)
        return
    await show(query, screen)
    await query.answer()


@router.message(SettingsStates.time_zone, TYPED)
async def typed_zone(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory, clock: Clock
) -> None:
    """A typed city or offset."""
    zone = parse_time_zone(message.text or "")
    if db_user is None or zone is None:
        await message.answer(signup_view.bad_time_zone())
        return
    user = await set_time_zone(uow, clock, db_user.id, zone)
    await state.set_state(None)  # the data (a launch being prepared) stays
    text, markup = view.overview(user, clock.now())
    confirmed = signup_view.zone_set(zone_and_offset(zone, clock.now()))
    await show(message, (confirmed + "\n\n" + text, markup))


@router.message(SettingsStates.email, TYPED)
async def typed_email(
    message: Message, state: FSMContext, db_user: User | None, uow: UnitOfWorkFactory, clock: Clock
) -> None:
    """A typed email address, validated."""
    if db_user is None:
        await message.answer(sign_up_first())
        return
    try:
        user = await set_email(uow, clock, db_user.id, message.text or "")
    except InvalidValue:
        await message.answer(
            _(
                "That doesn't look like an email address. Send one like "
                "<i>name@example.com</i>, or /cancel."
            )
        )
        return
    await state.set_state(None)  # the data (a launch being prepared) stays
    await show(message, view.overview(user, clock.now()))
