"""Audiences per ad account (issue 17), reached from Accounts and Settings → Optional features.
Only with the "audiences" switch on does anything reach TikTok; every ad account id in a button
is re-checked against the presser (core.feature_access), and an audience id must be one of
that account's at TikTok. A customer file is read into memory, hashed there and dropped: it is
never written to disk, the database, the FSM storage or a log."""

from __future__ import annotations

import io
from pathlib import PurePath
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import AudienceCb
from bot.filters import NOT_TEXT, TYPED
from bot.routers.feature_gate import open_feature, pick_account, scope_missing
from bot.routers.menu import sign_up_first
from bot.screens import show
from bot.states import AudienceStates
from bot.views import audiences as view
from bot.views import permissions as permissions_view
from core import audiences
from core.clock import Clock
from core.feature_access import AccountNotFound, FeatureError
from core.features import grants, is_on
from core.tiktok import InvalidRequestError, ScopeMissingError, TikTokClient, TikTokError
from storage.models import User
from storage.uow import UnitOfWorkFactory

router = Router(name="audiences")


async def _list_screen(query: CallbackQuery, uow: UnitOfWorkFactory, tiktok: TikTokClient,
                       user: User, account_id: int, many: bool) -> None:
    try:
        found = await audiences.account_audiences(uow, tiktok, user.id, account_id)
    except FeatureError as exc:
        await query.answer(view.error(exc), show_alert=True)
        return
    except ScopeMissingError as exc:
        await scope_missing(query, uow, user.id, exc)
        return
    except TikTokError:
        await query.answer(view.error(FeatureError()), show_alert=True)
        return
    await show(query, view.audience_list(found, many))
    await query.answer()


@router.callback_query(AudienceCb.filter())
async def audience_action(
    query: CallbackQuery,
    callback_data: AudienceCb,
    state: FSMContext,
    db_user: User | None,
    uow: UnitOfWorkFactory,
    tiktok: TikTokClient | None,
) -> None:
    """Every Audiences button: pick an ad account, list, new from a file, make a lookalike,
    delete one."""
    opened = await open_feature(query, db_user, tiktok, audiences.FEATURE, view.feature_off)
    if opened is None:
        return
    user, client = opened
    async with uow() as u:
        accounts = list(await u.connections.accounts(user.id, tracked_only=False))
    mine = {a.id: a for a in accounts}
    a, account_id = callback_data.a, callback_data.id
    if a == "pick":
        picked = await pick_account(query, accounts, callback_data.n, view.pick_account,
                                    view.error)
        if picked is None:
            return
        account_id = picked
        a = "list"
    if account_id not in mine:  # another user's id, or an account gone since
        await query.answer(view.error(AccountNotFound()), show_alert=True)
        return
    if a == "new":
        await state.set_state(AudienceStates.file)
        await state.update_data(audience_account=account_id)
        await show(query, view.ask_file(mine[account_id]))
        await query.answer()
        return
    if a == "lal":
        await _lookalike(query, uow, client, user, account_id, callback_data.aud)
        return
    if a in ("del", "delc", "dely"):
        await _delete(query, uow, client, user, callback_data)
        return
    await _list_screen(query, uow, client, user, account_id, len(accounts) > 1)


async def _delete(query: CallbackQuery, uow: UnitOfWorkFactory, tiktok: TikTokClient,
                  user: User, cb: AudienceCb) -> None:
    """Delete an audience: pick one, confirm (refused while a saved template uses it), delete
    at TikTok and read back that it is gone. A second tap finds it gone already."""
    account_id, aud = cb.id, cb.aud
    try:
        if cb.a == "dely":
            found = await audiences.account_audiences(uow, tiktok, user.id, account_id)
            name = next((a.name for a in found.audiences if a.audience_id == aud), aud)
            now = await audiences.delete_audience(uow, tiktok, user.id, account_id, aud)
            await show(query, view.deleted(name, account_id, now))
            await query.answer()
            return
        found = await audiences.account_audiences(uow, tiktok, user.id, account_id)
        if cb.a == "del":
            await show(query, view.delete_pick(found, cb.n))
            await query.answer()
            return
        audience = next((a for a in found.audiences if a.audience_id == aud), None)
        if audience is None:
            raise audiences.AudienceNotFound()
        using = await audiences.templates_using(uow, user.id, found.account.advertiser_id, aud)
        if using:
            raise audiences.AudienceInUse(using)
        await show(query, view.confirm_delete(found.account, audience))
        await query.answer()
    except audiences.AudienceInUse as exc:
        await show(query, view.in_use(exc.templates, account_id))
        await query.answer()
    except FeatureError as exc:
        await query.answer(view.error(exc), show_alert=True)
    except ScopeMissingError as exc:
        await query.answer()
        await show(query, permissions_view.scope_missing(exc.group, await grants(uow, user.id)))
    except InvalidRequestError as exc:
        await query.answer(view.refused(exc.message or str(exc)), show_alert=True)
    except TikTokError:
        await query.answer(view.error(FeatureError()), show_alert=True)


async def _lookalike(query: CallbackQuery, uow: UnitOfWorkFactory, tiktok: TikTokClient,
                     user: User, account_id: int, source_id: str) -> None:
    """Make a lookalike of a ready custom audience (a second tap finds the first one's)."""
    try:
        _id, made = await audiences.make_lookalike(uow, tiktok, user.id, account_id, source_id)
    except FeatureError as exc:
        await query.answer(view.error(exc), show_alert=True)
        return
    except ScopeMissingError as exc:
        await scope_missing(query, uow, user.id, exc)
        return
    except InvalidRequestError as exc:
        await query.answer(view.refused(exc.message or str(exc)), show_alert=True)
        return
    except TikTokError:
        await query.answer(view.error(FeatureError()), show_alert=True)
        return
    await show(query, view.lookalike_made(made, account_id))
    await query.answer()


@router.message(AudienceStates.file, F.document)
async def customer_file(message: Message, state: FSMContext, db_user: User | None,
                        uow: UnitOfWorkFactory, clock: Clock, tiktok: TikTokClient | None,
                        bot: Bot) -> None:
    """A customer file: hashed in memory, uploaded as hashes, made into an audience."""
    doc = message.document
    if db_user is None or doc is None:
        await message.answer(sign_up_first())
        return
    if tiktok is None or not is_on(db_user, audiences.FEATURE):
        await state.clear()
        text, markup = view.feature_off()
        await message.answer(text, reply_markup=markup)
        return
    account_id = int((await state.get_data()).get("audience_account", 0))
    if (doc.file_size or 0) > audiences.MAX_FILE_BYTES:
        await message.answer(view.bad_file("too_big"))
        return
    status = await message.answer(view.progress("hash", 0))
    buffer = io.BytesIO()
    await bot.download(doc, destination=buffer)
    try:
        hashed = audiences.hash_file(buffer.getvalue())
    except audiences.BadFile as exc:
        await status.edit_text(view.bad_file(exc.code))
        return
    finally:
        buffer.close()  # the raw customer file goes no further than this function
    stem = PurePath(doc.file_name or "").stem.strip()[:60] or "Customers"
    day = clock.now().astimezone(ZoneInfo(db_user.time_zone or "UTC")).date().isoformat()
    name = f"{stem} {day}"

    async def progress(step: str) -> None:
        await status.edit_text(view.progress(step, hashed.rows))

    try:
        await audiences.create_from_file(uow, tiktok, db_user.id, account_id, name, hashed,
                                         progress)
    except FeatureError as exc:
        await state.clear()
        await status.edit_text(view.error(exc))
        return
    except ScopeMissingError as exc:
        await state.clear()
        text, markup = permissions_view.scope_missing(exc.group, await grants(uow, db_user.id))
        await status.edit_text(text, reply_markup=markup)
        return
    except InvalidRequestError as exc:
        await status.edit_text(view.refused(exc.message or str(exc)))
        return
    except TikTokError:
        await status.edit_text(view.error(FeatureError()))
        return
    await state.clear()
    text, markup = view.created(name, hashed.rows, hashed.skipped, hashed.calculate_type,
                                account_id)
    await status.edit_text(text, reply_markup=markup)


@router.message(AudienceStates.file, TYPED | NOT_TEXT)
async def not_a_file(message: Message) -> None:
    """Text (not a command), a photo or the like while a customer file is expected."""
    await message.answer(view.send_file_hint())
