"""Comments under the user's ads (issue 17): hide / unhide / reply from a comment's buttons, and
the campaigns to watch. Every id is checked against the presser; nothing reaches TikTok while
the comments feature is off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import CommentCb
from bot.filters import TYPED
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.states import CommentStates
from bot.views import comments as view
from bot.views import permissions as permissions_view
from core import comment_bursts, comments
from core.clock import Clock
from core.features import grants, is_on
from core.settings import Settings
from core.tiktok import InvalidRequestError, ScopeMissingError, TikTokClient, TikTokError
from storage.models import AdComment, User
from storage.uow import UnitOfWorkFactory

# The use-case that stores a typed word list (hide words, negative words).
SaveWords = Callable[[UnitOfWorkFactory, Clock, int, list[str]], Awaitable[None]]

router = Router(name="comments")


async def picker_screen(
    uow: UnitOfWorkFactory, settings: Settings, user: User, page: int = 0
) -> view.Screen:
    """The campaign picker with what is watched now."""
    async with uow() as u:
        accounts = {a.id: a for a in await u.connections.accounts(user.id, tracked_only=True)}
        campaigns = await u.comments.campaigns(list(accounts))
        watched = {(w.ad_account_id, w.campaign_id) for w, _a in await u.comments.watches(user.id)}
    return view.picker(campaigns, accounts, watched, settings.comments_pull_minutes, page)


@router.callback_query(CommentCb.filter())
async def comment_action(query: CallbackQuery, callback_data: CommentCb, state: FSMContext,
                         db_user: User | None, uow: UnitOfWorkFactory, clock: Clock,
                         tiktok: TikTokClient | None, settings: Settings) -> None:
    """Hide, unhide, pin, unpin, reply, pick campaigns, watch one."""
    if db_user is None:
        await query.answer(sign_up_first(), show_alert=True)
        return
    action, target = callback_data.a, callback_data.id
    if action == "thr":  # the burst threshold (a setting: no TikTok call)
        await state.set_state(CommentStates.negative)
        if not await comment_bursts.set_threshold(uow, clock, db_user.id, target):
            await query.answer(view.not_found(), show_alert=True)
            return
        user = await _fresh_user(uow, db_user.id)
        await show(query, view.negative_prompt(user.negative_words, user.burst_threshold,
                                               comment_bursts.THRESHOLDS))
        await query.answer()
        return
    if not is_on(db_user, comments.FEATURE) or tiktok is None:
        await query.answer(view.feature_off(), show_alert=True)
        return
    if action in ("bhide", "bundo"):
        await _burst_action(query, db_user, uow, clock, tiktok, target, action == "bhide")
        return
    if action == "pick":
        await show(query, await picker_screen(uow, settings, db_user, target))
        await query.answer()
        return
    if action == "watch":
        campaign_id, _dot, page = callback_data.c.partition(".")
        async with uow() as u:
            current = await u.comments.watch(target, campaign_id)
        if not await comments.set_watch(uow, clock, db_user.id, target, campaign_id,
                                        current is None):
            await query.answer(view.not_found(), show_alert=True)
            return
        shown = int(page) if page.isdigit() else 0
        await show(query, await picker_screen(uow, settings, db_user, shown))
        await query.answer()
        return
    if action == "reply":
        found = await comments.comment_of(uow, db_user.id, target)
        if found is None:
            await query.answer(view.not_found(), show_alert=True)
            return
        await state.set_state(CommentStates.reply)
        await state.update_data(comment=found.id)
        await query.answer()
        if query.message is not None:
            await query.message.answer(view.ask_reply(found))
        return
    if action in ("pin", "unpin"):
        change = comments.set_pinned(uow, clock, tiktok, db_user.id, target, action == "pin",
                                     settings.tiktok_comment_pin)
        await _change(query, uow, db_user.id, settings, change, view.pinned_done,
                      view.pin_refused)
    elif action in ("hide", "unhide"):
        change = comments.set_hidden(uow, clock, tiktok, db_user.id, target, action == "hide")
        await _change(query, uow, db_user.id, settings, change, view.hidden_done, view.failed)
    else:
        await query.answer(view.not_found(), show_alert=True)


async def _change(query: CallbackQuery, uow: UnitOfWorkFactory, user_id: int,
                  settings: Settings, change: Awaitable[AdComment | None],
                  done: Callable[[AdComment], str], refused: Callable[[], str]) -> None:
    """Make a hide or pin at TikTok; the card shows it only once TikTok reads it back so."""
    try:
        row = await change
    except comments.PinOff:
        await query.answer(view.pin_off(), show_alert=True)
        return
    except ScopeMissingError as exc:
        await query.answer()
        if query.message is not None:
            text, markup = permissions_view.scope_missing(exc.group, await grants(uow, user_id))
            await query.message.answer(text, reply_markup=markup)
        return
    except comments.NotConfirmed:
        await query.answer(view.not_confirmed(), show_alert=True)
        return
    except InvalidRequestError:  # TikTok refused this one (a hidden comment cannot be pinned)
        await query.answer(refused(), show_alert=True)
        return
    except TikTokError:
        await query.answer(view.failed(), show_alert=True)
        return
    if row is None:
        await query.answer(view.not_found(), show_alert=True)
        return
    await show(query, view.card(row, settings.tiktok_comment_pin != "off"))
    await query.answer(done(row))


async def _burst_action(query: CallbackQuery, db_user: User, uow: UnitOfWorkFactory,
                        clock: Clock, tiktok: TikTokClient, burst_id: int, hidden: bool) -> None:
    """Hide all of a burst's comments at TikTok, or undo that; the alert shows the result."""
    try:
        burst = await comment_bursts.hide_all(uow, clock, tiktok, db_user.id, burst_id, hidden)
    except comment_bursts.Busy:
        await query.answer(view.burst_busy())
        return
    except ScopeMissingError as exc:
        await query.answer()
        if query.message is not None:
            text, markup = permissions_view.scope_missing(exc.group, await grants(uow, db_user.id))
            await query.message.answer(text, reply_markup=markup)
        return
    except TikTokError:
        await query.answer(view.failed(), show_alert=True)
        return
    if burst is None:
        await query.answer(view.not_found(), show_alert=True)
        return
    async with uow() as u:
        rows = await comment_bursts.comments_of(u, burst)
    await show(query, view.burst_alert(burst, rows))
    await query.answer(view.hidden_done_all(hidden))


@router.message(CommentStates.reply, TYPED)
async def typed_reply(message: Message, state: FSMContext, db_user: User | None,
                      uow: UnitOfWorkFactory, clock: Clock, tiktok: TikTokClient | None) -> None:
    """The reply's text: sent as the ad's identity."""
    data = await state.get_data()
    if db_user is None or tiktok is None or not is_on(db_user, comments.FEATURE):
        await state.clear()
        await message.answer(view.feature_off())
        return
    length = len((message.text or "").strip())
    if length > comments.REPLY_MAX:  # not cut mid-word and posted as if whole: ask again
        await message.answer(view.reply_too_long(length))
        return
    await state.clear()
    try:
        row = await comments.reply_to(uow, clock, tiktok, db_user.id, int(data.get("comment", 0)),
                                      message.text or "")
    except ScopeMissingError as exc:
        text, markup = permissions_view.scope_missing(exc.group, await grants(uow, db_user.id))
        await message.answer(text, reply_markup=markup)
        return
    except TikTokError:
        await message.answer(view.failed())
        return
    await message.answer(view.replied(row) if row is not None else view.not_found())


@router.message(CommentStates.words, TYPED)
async def typed_words(message: Message, state: FSMContext, db_user: User | None,
                      uow: UnitOfWorkFactory, clock: Clock) -> None:
    """The hide words ("-" clears them); then back to the features screen."""
    await _typed_words(message, state, db_user, uow, clock, comments.set_words)


@router.message(CommentStates.negative, TYPED)
async def typed_negative(message: Message, state: FSMContext, db_user: User | None,
                         uow: UnitOfWorkFactory, clock: Clock) -> None:
    """The negative words ("-" clears them); then back to the features screen."""
    await _typed_words(message, state, db_user, uow, clock, comment_bursts.set_negative)


async def _typed_words(message: Message, state: FSMContext, db_user: User | None,
                       uow: UnitOfWorkFactory, clock: Clock, save: SaveWords) -> None:
    if db_user is None:
        await message.answer(sign_up_first())
        return
    text = (message.text or "").strip()
    try:
        words = [] if text == "-" else comments.parse_words(text)
    except ValueError:
        await message.answer(view.bad_words())
        return
    await save(uow, clock, db_user.id, words)
    await state.clear()
    user = await _fresh_user(uow, db_user.id)
    await show(message, permissions_view.features(user, await grants(uow, user.id)))


async def _fresh_user(uow: UnitOfWorkFactory, user_id: int) -> User:
    async with uow() as u:
        user = await u.users.get(user_id)
    assert user is not None
    return user
