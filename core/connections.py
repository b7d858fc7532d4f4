"""Connecting TikTok ad accounts: consent, code exchange, listing accounts, tracking, disconnect.

Nothing half-connected remains: the token and the accounts are written in one transaction only
after TikTok answered every call; if a later call fails, the fresh token is revoked again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.billing.limits import AD_ACCOUNTS, LimitHit, LimitReached, guard, room
from core.billing.plans import Catalogue
from core.clock import Clock
from core.oauth_state import StateForged, StateSigner
from core.tiktok import TikTokClient, TikTokError
from core.tiktok.models import Advertiser
from core.timezones import is_valid
from storage.inventory import CONNECTION_DAYS
from storage.models import AdAccount, TikTokConnection
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=15)
RETENTION = timedelta(days=CONNECTION_DAYS)  # the inventory's promise (storage/inventory.py)
TOKEN_KIND = "tiktok_token"


class ConnectError(Exception):
    """The consent could not be completed; `reason` says why, `user_id` whom to tell (if known)."""

    def __init__(self, reason: str, user_id: int | None = None, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason  # forged | expired | used | denied | exchange_failed | no_accounts
        self.user_id = user_id
        self.detail = detail


@dataclass(frozen=True)
class AccountInfo:
    """An ad account as shown after connecting."""

    advertiser_id: str
    name: str
    currency: str
    time_zone: str
    status: str
    bc_name: str | None
    bc_id: str | None = None  # the owning Business Center (its catalogs are the account's)


@dataclass(frozen=True)
class Connected:
    """A finished connection; `untracked`: the accounts it brought that the plan left untracked
    (`hit` says which limit), paused by the plan until it allows them."""

    user_id: int
    connection_id: int
    updated: bool
    accounts: list[AccountInfo]
    untracked: list[AccountInfo] = field(default_factory=list)
    hit: LimitHit | None = None
    # Accounts another of the user's connections already tracks: kept untracked here, so their
    # spend is not counted (and rules do not act) twice.
    elsewhere: list[AccountInfo] = field(default_factory=list)


async def begin_connect(uow: UnitOfWorkFactory, clock: Clock, signer: StateSigner,
                        client: TikTokClient, redirect_uri: str, user_id: int,
                        connection_id: int | None = None) -> str:
    """A consent URL whose state is signed, bound to this user, single-use and short-lived."""
    expires_at = clock.now() + STATE_TTL
    state, claims = signer.issue(user_id, int(expires_at.timestamp()))
    async with uow() as u:
        await u.connections.forget_states_before(clock.now() - timedelta(days=1))
        u.connections.add_state(claims.nonce, user_id, expires_at, connection_id)
        await u.commit()
    return client.consent_url(state, redirect_uri)


async def _claim_state(uow: UnitOfWorkFactory, clock: Clock, signer: StateSigner,
                       state: str) -> tuple[int, int | None]:
    try:
        claims = signer.verify(state)
    except StateForged:
        raise ConnectError("forged") from None
    async with uow() as u:
        row = await u.connections.get_state(claims.nonce)
        if row is None or row.user_id != claims.user_id:
            raise ConnectError("forged")
        if row.used_at is not None:
            raise ConnectError("used", row.user_id)
        if row.expires_at <= clock.now():
            raise ConnectError("expired", row.user_id)
        row.used_at = clock.now()  # single use, even if what follows fails
        await u.commit()
        return row.user_id, row.connection_id


def report_zone(adv: Advertiser) -> str:
    """The zone TikTok's report days are in: `display_timezone` (an IANA city); `timezone` may
    be a fixed `Etc/GMT±N` offset that is an hour off in summer (spec §3.1, advertiser/info)."""
    for zone in (adv.display_timezone, adv.timezone):
        if zone and is_valid(zone):
            return zone
    return "UTC"


def _info(adv: Advertiser, bc_names: dict[str, str]) -> AccountInfo:
    return AccountInfo(adv.advertiser_id, adv.name, adv.currency or "USD", report_zone(adv),
                       adv.status or "", bc_names.get(adv.owner_bc_id or ""),
                       adv.owner_bc_id or None)


async def _fetch_accounts(client: TikTokClient, token: str,
                          advertiser_ids: list[str]) -> list[AccountInfo]:
    advertisers = await client.get_advertisers(token, advertiser_ids)
    try:
        bcs = {bc.bc_id: bc.name for bc in await client.get_business_centers(token)}
    except TikTokError as exc:  # Business Center scope is optional: accounts still work
        log.info("tiktok.bc_unavailable", extra={"error": exc.message})
        bcs = {}
    return sorted((_info(a, bcs) for a in advertisers), key=lambda a: (a.name, a.advertiser_id))


async def finish_connect(uow: UnitOfWorkFactory, clock: Clock, signer: StateSigner,
                         client: TikTokClient, state: str, auth_code: str | None,
                         error: str | None = None,
                         catalogue: Catalogue | None = None) -> Connected:
    """Complete a consent: exchange the code, list the accounts, store everything at once. New
    accounts are tracked while the plan allows (`catalogue`; None: all of them)."""
    user_id, reconnect_id = await _claim_state(uow, clock, signer, state)
    if error or not auth_code:
        raise ConnectError("denied", user_id, error or "")
    try:
        grant = await client.exchange_auth_code(auth_code)
    except TikTokError as exc:
        raise ConnectError("exchange_failed", user_id, exc.message) from None
    token = grant.access_token
    try:
        ids = list(grant.advertiser_ids) or [
            a.advertiser_id for a in await client.get_authorized_advertisers(token)]
        accounts = await _fetch_accounts(client, token, ids) if ids else []
    except TikTokError as exc:
        await _revoke_quietly(client, token)
        raise ConnectError("exchange_failed", user_id, exc.message) from None
    if not accounts:
        await _revoke_quietly(client, token)
        raise ConnectError("no_accounts", user_id)
    scope = ",".join(str(s) for s in grant.scope)
    return await _store(uow, clock, user_id, reconnect_id, token, accounts, catalogue, scope)


async def _revoke_quietly(client: TikTokClient, token: str) -> None:
    try:
        await client.revoke_token(token)
    except TikTokError as exc:
        log.warning("tiktok.revoke_failed", extra={"error": exc.message})


async def _store(uow: UnitOfWorkFactory, clock: Clock, user_id: int, reconnect_id: int | None,
                 token: str, accounts: list[AccountInfo],
                 catalogue: Catalogue | None, scope: str | None = None) -> Connected:
    now = clock.now()
    ids = [a.advertiser_id for a in accounts]
    async with uow() as u:
        # What the plan still allows, counted before this connection adds anything (and held:
        # the entitlement stays locked until the commit).
        measured = (await room(u, catalogue, now, user_id, AD_ACCOUNTS, lock=True)
                    if catalogue is not None else None)
        left = measured.left if measured is not None else None
        added, untracked = 0, []

        def fits(info: AccountInfo) -> bool:
            nonlocal added
            if left is None or added < left:
                added += 1
                return True
            untracked.append(info)
            return False

        conn = None
        if reconnect_id is not None:
            conn = await u.connections.connection(user_id, reconnect_id)
        if conn is None or conn.status == "disconnected":
            conn = await u.connections.connection_with_advertisers(user_id, ids)
        updated = conn is not None
        if conn is None:
            conn = TikTokConnection(user_id=user_id, created_at=now)
            u.connections.add_connection(conn)
            await u.session.flush()
        if conn.credential_id is None:
            conn.credential_id = (await u.credentials.add(user_id, TOKEN_KIND, token)).id
        else:
            await u.credentials.replace(conn.credential_id, token)
        conn.status, conn.broken_reason, conn.broken_at = "active", None, None
        conn.disconnected_at = None  # an unfinished disconnect is called off by authorizing again
        conn.purge_after = None  # a revoked login authorized again: its data stays
        conn.display_name = accounts[0].bc_name or accounts[0].name
        conn.scope = scope  # what this consent granted (spec §2.3), replacing the last one's
        conn.updated_at = now
        known = {a.advertiser_id: a for a in await u.connections.accounts_of(conn.id)}
        # Another login of the user (or a wrong one used to reconnect) may reach the same ad
        # account: one connection tracks it.
        tracked_elsewhere = {a.advertiser_id
                             for a in await u.connections.accounts(user_id, tracked_only=True)
                             if a.connection_id != conn.id}
        elsewhere: list[AccountInfo] = []
        for info in accounts:
            row = known.pop(info.advertiser_id, None)
            if row is None and info.advertiser_id in tracked_elsewhere:
                elsewhere.append(info)
                row = AdAccount(connection_id=conn.id, advertiser_id=info.advertiser_id,
                                tracked=False, created_at=now)
                u.connections.add_account(row)
            elif row is None:
                # A new account is tracked while the plan allows; the others wait, paused by
                # the plan, and come back when it allows them (core/billing/enforce.py).
                tracked = fits(info)
                row = AdAccount(connection_id=conn.id, advertiser_id=info.advertiser_id,
                                tracked=tracked, plan_paused_at=None if tracked else now,
                                created_at=now)
                u.connections.add_account(row)
            elif row.purge_after is not None:  # reachable again before its data went: kept,
                row.purge_after = None  # and synced again as before, if the plan allows
                row.tracked = fits(info)
                row.plan_paused_at = None if row.tracked else now
            row.name, row.currency, row.time_zone = info.name, info.currency, info.time_zone
            row.status, row.bc_name, row.updated_at = info.status, info.bc_name, now
            row.bc_id = info.bc_id
        await u.session.flush()
        for gone in known.values():  # the login no longer reaches it: stop syncing, and purge
            await note_lost(u, now, gone.id, user_id)
        tracked = [a.id for a in await u.connections.accounts_of(conn.id) if a.tracked]
        await u.connections.schedule_sync(tracked, now)
        u.audit.record(user_id, "tiktok.reconnected" if updated else "tiktok.connected",
                       "connection", conn.id, {"advertisers": ids})
        await u.commit()
        hit = None
        if measured is not None and measured.allowed is not None and untracked:
            hit = LimitHit(AD_ACCOUNTS, measured.used + added, measured.allowed, measured.plan)
        return Connected(user_id, conn.id, updated, accounts, untracked, hit, elsewhere)


async def set_tracking(uow: UnitOfWorkFactory, clock: Clock, user_id: int, account_id: int,
                       tracked: bool, catalogue: Catalogue | None = None) -> AdAccount:
    """Turn syncing and stats on or off for one of the user's ad accounts. Tracking one more
    than the plan allows raises LimitReached (an account the plan paused too). `catalogue`: the
    plans (None: no plan limits, for tools and tests that sell none)."""
    now = clock.now()
    async with uow() as u:
        account = await u.connections.account(user_id, account_id)
        if account is None or account.status == "NO_ACCESS":
            raise LookupError(account_id)
        if tracked and not account.tracked and catalogue is not None:
            hit = await guard(u, catalogue, now, user_id, AD_ACCOUNTS)
            if hit is not None:
                raise LimitReached(hit)
        account.tracked = tracked
        account.plan_paused_at = None
        if tracked:
            await u.connections.schedule_sync([account.id], now)
        u.audit.record(user_id, "account.tracking", "ad_account", account.id,
                       {"tracked": tracked})
        await u.commit()
        return account


async def disconnect(uow: UnitOfWorkFactory, clock: Clock, client: TikTokClient | None,
                     user_id: int, connection_id: int) -> datetime:
    """Revoke the token at TikTok, stop syncing, and schedule the data for deletion (without a
    TikTok app configured the token can only be deleted here)."""
    async with uow() as u:
        conn = await u.connections.connection(user_id, connection_id)
        if conn is None or conn.status == "disconnected":
            raise LookupError(connection_id)
        token = await u.credentials.reveal(conn.credential_id) if conn.credential_id else None
        # The request is recorded before the token is revoked: a sync that meets the revoked
        # token in between finishes this disconnect instead of telling the user TikTok dropped
        # their login (finish_requested_disconnect).
        conn.disconnected_at = clock.now()
        await u.commit()
    if token and client is not None:
        await _revoke_quietly(client, token)  # a token TikTok already dropped is fine too
    elif token:
        log.warning("tiktok.revoke_skipped", extra={"connection": connection_id})
    async with uow() as u:
        conn = await u.connections.connection(user_id, connection_id)
        if conn is None:
            raise LookupError(connection_id)
        # A sync that met the revoked token may have finished it: before this read (the status
        # says so), or between this read and the claim (the claim is lost: its purge date is
        # read again, it is the one to tell).
        if conn.status != "disconnected" and not await _finish_disconnect(u, conn, clock.now()):
            await u.session.refresh(conn)
        await u.commit()
        assert conn.purge_after is not None
        return conn.purge_after


async def _finish_disconnect(u: UnitOfWork, conn: TikTokConnection, now: datetime) -> bool:
    """Mark a connection the user disconnected: token dropped, accounts untracked, purge set.
    The user's own request and the syncs that meet the revoked token may all get here at once:
    only the one whose conditional update takes the row finishes it (and records it once);
    False for the others."""
    if not await u.connections.claim_disconnect(conn.id):
        return False
    conn.disconnected_at = conn.disconnected_at or now
    # Already revoked at TikTok: the date the user was given stands.
    conn.purge_after = min(conn.purge_after or now + RETENTION, now + RETENTION)
    if conn.credential_id is not None:  # a revoked token is of no use: drop it now
        credential_id, conn.credential_id = conn.credential_id, None
        await u.session.flush()
        await u.credentials.delete(credential_id)
    for account in await u.connections.accounts_of(conn.id):
        account.tracked = False
    u.audit.record(conn.user_id, "tiktok.disconnected", "connection", conn.id,
                   {"purge_after": conn.purge_after.isoformat()})
    return True


async def finish_requested_disconnect(u: UnitOfWork, now: datetime, connection_id: int,
                                      user_id: int) -> bool:
    """TikTok refused the token of a connection its user is disconnecting (we revoked it):
    finish that disconnect, with no "TikTok dropped your login" alert. True if it was one."""
    conn = await u.connections.connection(user_id, connection_id)
    if conn is None or conn.disconnected_at is None:
        return False
    await _finish_disconnect(u, conn, now)
    return True


async def note_revoked(u: UnitOfWork, now: datetime, connection_id: int, user_id: int,
                       error: str) -> bool:
    """TikTok refused the connection's token for good: stop syncing, drop the useless token and
    start the same retention clock as a disconnect (reconnecting before it ends keeps the data).
    Queues the one alert; True only the first time (repeated refusals say nothing more)."""
    first = await u.sync.mark_broken(connection_id, error, now)
    conn = await u.connections.connection(user_id, connection_id)
    if conn is None:
        return False
    if conn.purge_after is None:
        conn.purge_after = now + RETENTION
        u.audit.record(None, "tiktok.revoked", "connection", conn.id,
                       {"purge_after": conn.purge_after.isoformat()})
    if conn.credential_id is not None:
        credential_id, conn.credential_id = conn.credential_id, None
        await u.session.flush()
        await u.credentials.delete(credential_id)
    if first:
        await u.outbox.enqueue(user_id, "connection_broken",
                               f"broken:{connection_id}:{int(now.timestamp())}",
                               {"connection_id": connection_id}, now)
    return first


async def note_lost(u: UnitOfWork, now: datetime, account_id: int, user_id: int) -> bool:
    """The login no longer reaches this advertiser: stop syncing it and delete its data after
    the retention period unless it comes back. Queues the one alert; True the first time."""
    first = await u.connections.mark_lost(account_id, now + RETENTION)
    if first:
        u.audit.record(None, "tiktok.account_lost", "ad_account", account_id,
                       {"purge_after": (now + RETENTION).isoformat()})
        await u.outbox.enqueue(user_id, "account_lost", f"lost:{account_id}:{int(now.timestamp())}",
                               {"account_id": account_id}, now)
    return first


async def sync_health(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, stale_after: timedelta
) -> dict[int, str]:
    """Per tracked ad account of the user, how its sync stands: "broken" (TikTok refuses the
    connection's token: reconnect in the bot), "loading" (the first full sync is not done),
    "stale" (no complete sync for longer than `stale_after`), else "ok"."""
    now = clock.now()
    async with uow() as u:
        broken = {c.id for c in await u.connections.connections(user_id) if c.status == "broken"}
        accounts = await u.connections.accounts(user_id, tracked_only=True)
    out = {}
    for acc in accounts:
        if acc.connection_id in broken:
            out[acc.id] = "broken"
        elif acc.fresh_as_of is None:
            out[acc.id] = "loading"
        elif now - acc.fresh_as_of > stale_after:
            out[acc.id] = "stale"
        else:
            out[acc.id] = "ok"
    return out
