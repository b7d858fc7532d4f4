"""A digest's actions (one tick's rule alerts to one chat, delivered as one message) and
"Approve all" / "Reject all" on them.

Each pending approval is still decided on its own through core.rules.approvals (one
conditional UPDATE per action), so a double tap, a second device or a concurrent press of one
object's own button changes each object once, and each stays undoable on its own. What was
decided or expired before the press is reported, not done again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from core.clock import Clock
from core.rules import approvals
from core.rules.acting import Changer
from core.rules.engine import Progress
from storage.models import OutboxMessage, RuleAction
from storage.uow import UnitOfWork, UnitOfWorkFactory

KINDS = ("rule_action", "rule_digest")  # the alerts a digest is made of
SLACK = timedelta(minutes=1)  # clocks of instances differ a little


async def actions_in(u: UnitOfWork, user_id: int, outbox_id: int) -> list[RuleAction] | None:
    """The actions of the digest delivered by alert `outbox_id` (the alert and those merged
    into it), in the order they were taken; None if not the user's or not a digest."""
    members = await u.outbox.members(user_id, outbox_id)
    if not members or any(m.kind not in KINDS for m in members):
        return None
    return await actions_of(u, members)


async def actions_of(u: UnitOfWork, members: list[OutboxMessage]) -> list[RuleAction]:
    """The actions a set of rule alerts tells about (each once)."""
    found: dict[int, RuleAction] = {}
    for m in members:
        if m.kind == "rule_digest":
            rows = await u.rules.actions_of_run(int(m.params["run_id"]))
        else:
            row = await u.rules.action(m.user_id, int(m.params["action_id"]))
            rows = [row] if row is not None else []
        found.update((r.id, r) for r in rows if r.user_id == m.user_id)
    return [found[k] for k in sorted(found)]


async def message_of(uow: UnitOfWorkFactory, user_id: int, action_id: int
                     ) -> OutboxMessage | None:
    """The chat message that asked about a rule action: its own alert, or the digest it went
    out in (the alert it was merged into) — once sent (`tg_message_id` set); else None. For
    redrawing it after a decision made elsewhere (the web dashboard)."""
    async with uow() as u:
        row = await u.rules.action(user_id, action_id)
        if row is None:
            return None
        # An action's alert is queued by the run that proposed it, so not before the action.
        alerts = await u.outbox.rule_alerts_since(user_id, KINDS, row.created_at - SLACK)
        for m in alerts:
            p = m.params or {}
            if (m.kind == "rule_action" and p.get("action_id") == row.id) or (
                m.kind == "rule_digest" and row.run_id is not None
                and p.get("run_id") == row.run_id
            ):
                head = m if m.merged_into is None else await u.outbox.get(user_id, m.merged_into)
                return head if head is not None and head.tg_message_id is not None else None
    return None


def was_asked(row: RuleAction) -> bool:
    """Whether an action is (or was) an approval: still open, decided by a person, or expired."""
    return row.state in ("proposed", "expired") or row.decided_at is not None


@dataclass
class Tally:
    """What one "Approve all" / "Reject all" press did, per outcome (approvals.Outcome)."""

    approve: bool
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """Approvals the digest holds."""
        return sum(self.counts.values())


async def decide_all(
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer | None,
    user_id: int,
    outbox_id: int,
    approve: bool,
    progress: Progress | None = None,
) -> Tally | None:
    """Approve (and apply) or reject every approval of a digest still open, each once;
    `progress(done, total)` after each. None if the digest is not the user's."""
    assert changer is not None or not approve, "approving needs TikTok"
    async with uow() as u:
        rows = await actions_in(u, user_id, outbox_id)
    if rows is None:
        return None
    tally = Tally(approve)
    now = clock.now()
    open_ = [r for r in rows if r.state == "proposed" and (r.expires_at or now) > now]
    for row in rows:
        if was_asked(row) and row not in open_:
            expired = row.state == "expired" or row.state == "proposed"
            tally.counts[(approvals.Outcome.EXPIRED if expired else approvals.Outcome.DECIDED)] += 1
    for n, row in enumerate(open_, start=1):
        if changer is not None and approve:
            result = await approvals.approve(uow, clock, changer, user_id, row.id)
        else:
            result = await approvals.reject(uow, clock, user_id, row.id)
        tally.counts[result.outcome] += 1
        if progress is not None:
            await progress(n, len(open_))
    return tally
