"""/start: sign-up for new users, the main menu for returning ones."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n

from bot.callbacks import SignupCb
from bot.filters import NOT_TEXT, TYPED
from bot.screens import show
from bot.states import SignUpStates
from bot.views import menu as menu_view
from bot.views import signup as view
from core.clock import Clock
from core.emails import normalize_email
from core.settings import Settings
from core.tiktok import TikTokClient
from core.timezones import is_valid, parse_time_zone, zone_and_offset
from core.users import LANGUAGES, SignUp, register_user
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="signup")


@router.message(CommandStart())
async def start(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    db_user: User | None,
    uow: UnitOfWorkFactory,
) -> None:
    """Returning users get the menu; new users begin sign-up (the deep-link payload is kept)."""
    payload = command.args if command.args else None
    await state.clear()
    if db_user is not None:
        if payload:
            async with uow() as u:
                u.audit.record(
                    db_user.id, "user.start_payload", "user", db_user.id, {"payload": payload}
                )
                await u.commit()
        await show(message, menu_view.main_menu(paused=db_user.paused_at is not None))
        return
    await state.set_state(SignUpStates.language)
    await state.set_data({"payload": payload})
    await show(message, view.language())


@router.callback_query(SignUpStates.language, SignupCb.filter(F.step == "lang"))
async def picked_language(
    query: CallbackQuery, callback_data: SignupCb, state: FSMContext, i18n: I18n
) -> None:
    """Remember the language and ask for the age confirmation in it."""
    if callback_data.value not in LANGUAGES:
        await query.answer()
        return
    await state.update_data(lang=callback_data.value)
    await state.set_state(SignUpStates.age)
    with i18n.use_locale(callback_data.value):
        await show(query, view.age())
    await query.answer()


@router.callback_query(SignUpStates.age, SignupCb.filter(F.step == "age"))
async def answered_age(
    query: CallbackQuery, callback_data: SignupCb, state: FSMContext, settings: Settings, i18n: I18n
) -> None:
    """Adults continue to the terms; anyone else is turned away and nothing is kept."""
    data = await state.get_data()
    if callback_data.value != "yes":
        await state.clear()
        await show(query, (view.age_refused(), None))
    else:
        await state.set_state(SignUpStates.terms)
        await show(query, view.terms(settings.public_url, data.get("lang", i18n.current_locale)))
    await query.answer()


@router.callback_query(SignUpStates.terms, SignupCb.filter(F.step == "terms"))
async def answered_terms(
    query: CallbackQuery, callback_data: SignupCb, state: FSMContext, clock: Clock
) -> None:
    """Accepting moves on to the time zone; declining ends sign-up and keeps nothing."""
    if callback_data.value != "yes":
        await state.clear()
        await show(query, (view.terms_declined(), None))
    else:
        await state.set_state(SignUpStates.time_zone)
        await show(query, view.time_zone(clock.now()))
    await query.answer()


async def _to_email(state: FSMContext, zone: str) -> None:
    await state.update_data(tz=zone)
    await state.set_state(SignUpStates.email)


@router.callback_query(SignUpStates.time_zone, SignupCb.filter(F.step == "tz"))
async def picked_zone(query: CallbackQuery, callback_data: SignupCb, state: FSMContext) -> None:
    """A zone from the list."""
    if not is_valid(callback_data.value):
        await query.answer(view.bad_time_zone()[:200])
        return
    await _to_email(state, callback_data.value)
    await show(query, view.email())
    await query.answer()


@router.message(SignUpStates.time_zone, TYPED)
async def typed_zone(message: Message, state: FSMContext, clock: Clock) -> None:
    """A city or an offset, typed: said back as the zone it became, then the email step."""
    zone = parse_time_zone(message.text or "")
    if zone is None:
        await message.answer(view.bad_time_zone())
        return
    await _to_email(state, zone)
    text, markup = view.email()
    await show(message, (view.zone_set(zone_and_offset(zone, clock.now())) + "\n\n" + text, markup))


@router.callback_query(SignUpStates.email, SignupCb.filter(F.step == "email"))
async def skipped_email(query: CallbackQuery, state: FSMContext) -> None:
    """No email."""
    await state.update_data(email=None, marketing=False)
    await state.set_state(SignUpStates.marketing)
    await show(query, view.marketing(False))
    await query.answer()


@router.message(SignUpStates.email, TYPED)
async def typed_email(message: Message, state: FSMContext) -> None:
    """An email address, validated."""
    email = normalize_email(message.text or "")
    if email is None:
        await message.answer(view.bad_email())
        return
    await state.update_data(email=email, marketing=False)
    await state.set_state(SignUpStates.marketing)
    await show(message, view.marketing(False))


@router.callback_query(SignUpStates.marketing, SignupCb.filter(F.step == "mkt"))
async def toggled_marketing(
    query: CallbackQuery, callback_data: SignupCb, state: FSMContext
) -> None:
    """Tick or untick the news opt-in."""
    opt_in = callback_data.value == "on"
    await state.update_data(marketing=opt_in)
    await show(query, view.marketing(opt_in))
    await query.answer()


@router.callback_query(SignUpStates.marketing, SignupCb.filter(F.step == "done"))
async def finished(
    query: CallbackQuery,
    state: FSMContext,
    uow: UnitOfWorkFactory,
    clock: Clock,
    tiktok: TikTokClient | None = None,
) -> None:
    """Create the account with the consents collected (finishing the erasure of a deleted
    account first, so it starts from nothing), then show the main menu."""
    data = await state.get_data()
    tg = query.from_user
    await register_user(
        uow,
        clock,
        SignUp(
            user_id=tg.id,
            first_name=tg.first_name,
            last_name=tg.last_name,
            username=tg.username,
            language=data.get("lang", "en"),
            time_zone=data.get("tz", "UTC"),
            email=data.get("email"),
            marketing_opt_in=bool(data.get("marketing")),
            start_payload=data.get("payload"),
        ),
        tiktok,
    )
    await state.clear()
    await show(query, menu_view.main_menu(greeting_name=tg.first_name))
    await query.answer()


@router.message(StateFilter(SignUpStates.time_zone, SignUpStates.email), NOT_TEXT)
async def not_text(message: Message) -> None:
    """A photo or sticker where typed text is expected."""
    await message.answer(view.use_buttons())
