"""Unit of work: one session and its repositories; the use-case decides when to commit."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.changes import Changes, detached, for_engine, publish_committed, row_snapshot
from storage.models import User
from storage.repos.admin import AdminRepo
from storage.repos.audit import AuditRepo
from storage.repos.billing import BillingRepo
from storage.repos.comments import CommentsRepo
from storage.repos.connections import ConnectionRepo
from storage.repos.creatives import CreativesRepo
from storage.repos.credentials import CredentialRepo
from storage.repos.erasures import ErasureRepo
from storage.repos.exports import ExportsRepo
from storage.repos.fsm import FsmRepo
from storage.repos.launches import LaunchesRepo
from storage.repos.ops import OpsRepo
from storage.repos.outbox import OutboxRepo
from storage.repos.pixel_watch import PixelWatchRepo
from storage.repos.privacy import PrivacyRepo
from storage.repos.rules import RulesRepo
from storage.repos.sent_messages import SentMessagesRepo
from storage.repos.stats import StatsRepo
from storage.repos.support import SupportRepo
from storage.repos.sync import SyncRepo
from storage.repos.templates import TemplatesRepo
from storage.repos.tracker_stats import TrackerStatsRepo
from storage.repos.trackers import TrackerRepo
from storage.repos.users import UserRepo
from storage.repos.web import WebRepo
from storage.vault import Vault


class UnitOfWork:
    """`async with uow_factory() as uow: ...; await uow.commit()` — rolls back if not committed."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], vault: Vault | None) -> None:
        self._sessions = sessions
        self._vault = vault

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self.users = UserRepo(self.session)
        self.support = SupportRepo(self.session)
        self.audit = AuditRepo(self.session)
        self.fsm = FsmRepo(self.session)
        self.connections = ConnectionRepo(self.session)
        self.sync = SyncRepo(self.session)
        self.comments = CommentsRepo(self.session)
        self.pixel_watch = PixelWatchRepo(self.session)
        self.outbox = OutboxRepo(self.session)
        self.sent = SentMessagesRepo(self.session)
        self.stats = StatsRepo(self.session)
        self.rules = RulesRepo(self.session)
        self.creatives = CreativesRepo(self.session)
        self.templates = TemplatesRepo(self.session)
        self.launches = LaunchesRepo(self.session)
        self.trackers = TrackerRepo(self.session)
        self.tracker_stats = TrackerStatsRepo(self.session)
        self.privacy = PrivacyRepo(self.session)
        self.exports = ExportsRepo(self.session)
        self.erasures = ErasureRepo(self.session)
        self.billing = BillingRepo(self.session)
        self.admin = AdminRepo(self.session)
        self.ops = OpsRepo(self.session)
        self.web = WebRepo(self.session)
        return self

    @property
    def credentials(self) -> CredentialRepo:
        """Credentials need the vault; a clear error if it was not configured."""
        if self._vault is None:
            raise RuntimeError("no vault configured (ENCRYPTION_KEYS)")
        return CredentialRepo(self.session, self._vault)

    async def commit(self) -> None:
        """Make the staged changes durable (this instance's copies of changed rows are dropped
        by then; the other instances are told before this returns)."""
        await self.session.commit()
        await publish_committed(self.session.sync_session)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back anything uncommitted and detaches loaded objects without expiring
        # them (rollback() would expire them), so use-cases can return what they loaded.
        try:
            await self.session.close()
        finally:
            # A commit made on the session itself rather than through commit() above.
            await publish_committed(self.session.sync_session)


class UnitOfWorkFactory:
    """Makes units of work over one engine's sessions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], vault: Vault | None) -> None:
        self.sessions = sessions
        self.vault = vault

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.vault)

    async def live_user(self, user_id: int) -> User | None:
        """A registered, not deleted user, from this process's copy while the row is unchanged
        (a new detached object each time: a caller may change its copy freely)."""
        copies = self.changes.cache("users", "live_user")
        hit, snapshot = copies.get(user_id)
        if not hit:
            token = copies.token()
            async with self() as u:
                user = await u.users.get(user_id)
            snapshot = row_snapshot(user) if user is not None else None
            copies.put(user_id, snapshot, token)
            return user
        return None if snapshot is None else detached(User, snapshot)

    @property
    def changes(self) -> Changes:
        """The database's change hub: caches of its rows register there (storage/changes.py)."""
        bind = self.sessions.kw.get("bind")
        if not isinstance(bind, AsyncEngine):
            raise RuntimeError("the session factory is not bound to an engine")
        return for_engine(bind.sync_engine)
