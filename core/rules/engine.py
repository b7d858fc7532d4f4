"""The rules engine: runs due rules, records what they do, and queues the alerts.

A tick claims due rules with a lease (design.md, Scheduling), evaluates the whole batch with
one aggregate query per ad account and level for every window the batch needs (windows are
the account's local days, core.rules.windows), and then, per rule:

1. skips accounts whose data is older than the rule's tolerance (the freshness guard) and
   tells the user once per stale spell;
2. records one action row per matching object under a key made of rule, slot and object, so a
   retried run finds its rows instead of acting twice; the per-object frequency limit counts
   those rows;
3. applies the automatic ones (core.rules.execute), leaves risky ones as approvals that expire,
   and queues alerts — one per action, or one digest when a run has many — in the transaction
   that finishes the run and moves the rule to its next slot. Until that commits, the rule is
   still due at the same slot, so a crash anywhere repeats the run, never loses its alerts.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from core.clock import Clock
from core.gc_pause import gc_paused
from core.metrics import Totals
from core.quiet import quiet_until
from core.rules import execute
from core.rules.acting import ActionError, Changer, State, Target, change_for, is_increase
from core.rules.evaluate import Facts, Reading, compiled, readings, summed, windows_of
from core.rules.model import ActionKind, RuleSpec, Window, status_word
from core.rules.schedule import next_due
from core.rules.settings import RuleSettings, from_json
from core.rules.text import parse_rule
from core.rules.windows import window_range
from storage.models import Rule, RuleAction, RuleRun
from storage.repos.rules import DayRange, ObjectRow, ScopeAccount
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
BATCH = 1000  # rules claimed and evaluated together (their sums share queries)
DIGEST_AT = 4  # this many alerts or more from one run go out as one digest
ALERTED = ("applied", "failed", "proposed", "alerted")


@dataclass(frozen=True)
class Hit:
    """An object a rule matched, the facts it matched on, and its values as last synced."""

    target: Target
    name: str
    facts: Facts
    synced: State
    spec: RuleSpec
    at: datetime

    @property
    def readings(self) -> list[Reading]:
        """What each condition read (worked out only for the hits that get explained)."""
        return readings(self.spec, self.facts, self.at)


@dataclass
class Evaluation:
    """What one rule found in one evaluation."""

    checked: int = 0
    accounts: int = 0
    hits: list[Hit] = field(default_factory=list)
    stale: list[ScopeAccount] = field(default_factory=list)
    data_as_of: datetime | None = None


def _budget(obj: ObjectRow) -> Decimal | None:
    if obj.budget_mode == "BUDGET_MODE_INFINITE" or not obj.budget:
        return None
    return obj.budget


class _World:
    """The objects and sums a batch of rules reads, loaded once per batch."""

    def __init__(self) -> None:
        self.objects: dict[tuple[int, str], list[ObjectRow]] = defaultdict(list)
        self.budgets: dict[tuple[int, str, str], Decimal | None] = {}
        self.sums: dict[tuple[int, str], dict[str, dict[Window, Totals]]] = {}
        self._facts: dict[tuple[int, str, str], Facts] = {}
        self._acting: dict[tuple[int, str, str], tuple[Target, State]] = {}

    def add_objects(self, objects: Sequence[ObjectRow]) -> None:
        """Index objects by account and level, and work out each one's effective budget (an
        ad group without its own budget spends its campaign's; an ad, its ad group's)."""
        for obj in objects:
            self.objects[(obj.ad_account_id, obj.level)].append(obj)
        for level in ("campaign", "adgroup", "ad"):
            for obj in objects:
                if obj.level != level:
                    continue
                own = _budget(obj) if level != "ad" else None
                parent = (
                    (obj.ad_account_id, "adgroup", obj.adgroup_id or "")
                    if level == "ad"
                    else (obj.ad_account_id, "campaign", obj.campaign_id or "")
                )
                self.budgets[(obj.ad_account_id, level, obj.object_id)] = (
                    own if own is not None or level == "campaign" else self.budgets.get(parent)
                )

    def facts(self, obj: ObjectRow) -> Facts:
        """What a rule knows about one object (built once per batch: many rules read it)."""
        key = (obj.ad_account_id, obj.level, obj.object_id)
        found = self._facts.get(key)
        if found is None:
            found = self._facts[key] = Facts(
                obj.object_id,
                obj.name,
                self.budgets.get((obj.ad_account_id, obj.level, obj.object_id)),
                obj.created_time,
                self.sums.get((obj.ad_account_id, obj.level), {}).get(obj.object_id, {}),
                status_word(obj.operation_status, obj.secondary_status),
            )
        return found

    def hit(
        self, sa: ScopeAccount, obj: ObjectRow, facts: Facts, spec: RuleSpec, now: datetime
    ) -> Hit:
        """A match of one rule on one object (where to act and the values as last synced are
        the same for every rule of the batch: worked out once per object)."""
        key = (obj.ad_account_id, obj.level, obj.object_id)
        acting = self._acting.get(key)
        if acting is None:
            a = sa.account
            target = Target(
                a.id, a.advertiser_id, sa.credential_id, a.currency, a.time_zone, *key[1:]
            )
            synced = State(
                obj.operation_status, _budget(obj) if obj.level != "ad" else None, obj.bid
            )
            acting = self._acting[key] = (target, synced)
        return Hit(acting[0], obj.name, facts, acting[1], spec, now)


@lru_cache(maxsize=4096)
def parse_cached(text: str) -> RuleSpec:
    """A stored rule's spec (stored text always parses; the result is immutable)."""
    return parse_rule(text)


def _fresh(sa: ScopeAccount, settings: RuleSettings, now: datetime) -> bool:
    as_of = sa.account.fresh_as_of
    return (
        sa.connection_status == "active"
        and as_of is not None
        and now - as_of <= timedelta(minutes=settings.freshness_minutes)
    )


async def _load_sums(
    u: UnitOfWork,
    world: _World,
    accounts: dict[int, ScopeAccount],
    needs: dict[tuple[int, str], set[Window]],
    now: datetime,
) -> None:
    # Accounts in one time zone read the same local days: one query serves all of them.
    groups: dict[tuple[str, str], tuple[list[int], set[Window]]] = {}
    for (account_id, level), windows in needs.items():
        ids, union = groups.setdefault((level, accounts[account_id].account.time_zone), ([], set()))
        ids.append(account_id)
        union |= windows
    for (level, tz), (ids, windows) in groups.items():
        keyed = {str(i): w for i, w in enumerate(sorted(windows, key=repr))}
        days: dict[str, DayRange] = {}
        hours = {}
        for key, window in keyed.items():
            rng = window_range(window, now, tz)
            if rng.hour is not None:
                hours[key] = rng.hour
            else:
                days[key] = DayRange(rng.start, rng.end)
        raw = await u.rules.window_sums(ids, level, days, hours, make=Totals)
        for (account_id, oid), per in raw.items():
            world.sums.setdefault((account_id, level), {})[oid] = {
                keyed[k]: totals for k, totals in per.items()
            }


def _candidates(
    world: _World, spec: RuleSpec, settings: RuleSettings, sa: ScopeAccount
) -> list[ObjectRow]:
    # Enabling looks at what is off; everything else at what is running.
    wanted = "DISABLE" if spec.action.kind is ActionKind.ENABLE else "ENABLE"
    objects = world.objects.get((sa.account.id, spec.level.value), [])
    scope = settings.scope
    if scope.match == "all":
        return [o for o in objects if o.operation_status == wanted]
    return [
        o for o in objects if o.operation_status == wanted and scope.admits(o.object_id, o.name)
    ]


async def evaluate(u: UnitOfWork, rules: Sequence[Rule], now: datetime) -> dict[int, Evaluation]:
    """Evaluate a batch of rules against stored data, with aggregate queries shared by all."""
    with gc_paused():
        return await _evaluate(u, rules, now)


async def _evaluate(u: UnitOfWork, rules: Sequence[Rule], now: datetime) -> dict[int, Evaluation]:
    parsed = {r.id: (parse_cached(r.text), from_json(r.settings)) for r in rules}
    scopes: dict[int, list[ScopeAccount]] = defaultdict(list)
    for sa in await u.rules.scope_accounts(sorted({r.user_id for r in rules}), None):
        scopes[sa.user_id].append(sa)
    out: dict[int, Evaluation] = {}
    plan: dict[int, list[ScopeAccount]] = {}
    needs: dict[tuple[int, str], set[Window]] = defaultdict(set)
    accounts: dict[int, ScopeAccount] = {}
    loaded: dict[int, ScopeAccount] = {}
    for rule in rules:
        spec, settings = parsed[rule.id]
        chosen = settings.scope.accounts
        ev = out[rule.id] = Evaluation()
        plan[rule.id] = []
        for sa in scopes[rule.user_id]:
            if chosen is not None and sa.account.id not in chosen:
                continue
            loaded[sa.account.id] = sa
            if not _fresh(sa, settings, now):
                ev.stale.append(sa)
                continue
            plan[rule.id].append(sa)
            ev.accounts += 1
            accounts[sa.account.id] = sa
            needs[(sa.account.id, spec.level.value)] |= windows_of(spec)
            as_of = sa.account.fresh_as_of
            ev.data_as_of = as_of if ev.data_as_of is None else min(ev.data_as_of, as_of)
    world = _World()
    world.add_objects(await u.rules.objects(list(loaded)))
    await _load_sums(u, world, accounts, needs, now)
    for rule in rules:
        spec, settings = parsed[rule.id]
        ev = out[rule.id]
        # Only accounts holding objects this rule would look at make a skipped run worth
        # telling (as last synced: a rule narrowed to a few ads skips nothing elsewhere).
        ev.stale = [sa for sa in ev.stale if _candidates(world, spec, settings, sa)]
        test = compiled(spec.when)
        facts_of, hit = world.facts, world.hit
        for sa in plan[rule.id]:
            objects = _candidates(world, spec, settings, sa)
            ev.checked += len(objects)
            if settings.aggregate == "sum":
                # Summed within one ad account: amounts in different currencies never add.
                total = summed([facts_of(o) for o in objects], sa.account.name)
                if objects and test(total, now):
                    ev.hits += [hit(sa, o, total, spec, now) for o in objects]
                continue
            ev.hits += [hit(sa, o, f, spec, now) for o in objects if test(f := facts_of(o), now)]
    return out


def _params(spec: RuleSpec) -> dict[str, str | None]:
    a = spec.action
    return {
        "mode": a.mode,
        **{
            k: (str(v) if v is not None else None)
            for k, v in (("value", a.value), ("floor", a.floor), ("ceiling", a.ceiling))
        },
    }


def _initial_state(spec: RuleSpec, settings: RuleSettings, hit: Hit) -> str:
    if spec.action.kind is ActionKind.NOTIFY:
        return "alerted"
    try:
        risky = is_increase(change_for(spec.action, hit.synced), hit.synced)
    except ActionError:
        risky = True  # no such value on record: let TikTok's answer decide, with a human
    mode = settings.mode_for(risky)
    return {"auto": "applying", "approve": "proposed", "alert": "alerted"}[mode]


def _trigger(hit: Hit, spec: RuleSpec, text: str, as_of: datetime | None) -> dict[str, object]:
    # The rule's text and the data's age as they were when it fired: the alert explains this
    # firing even if the rule is edited later. `expected` is the change as of the last sync,
    # for an approval to show what it would do.
    try:
        change = change_for(spec.action, hit.synced)
    except ActionError:
        change = None
    expected = None
    if change is not None and change.field != "status":
        expected = {
            "field": change.field,
            "from": str(getattr(hit.synced, change.field)),
            "to": str(change.value),
        }
    return {
        "rule": text,
        "as_of": as_of.isoformat() if as_of else None,
        "expected": expected,
        "readings": [
            {
                "metric": r.metric,
                "span": r.window.span,
                "incl": r.window.include_today,
                "value": None if r.value is None else str(r.value),
                "word": r.word,
            }
            for r in hit.readings
        ],
    }


async def _record_hits(
    u: UnitOfWork,
    rule: Rule,
    run: RuleRun,
    spec: RuleSpec,
    settings: RuleSettings,
    ev: Evaluation,
    now: datetime,
) -> list[RuleAction]:
    freq = settings.frequency
    since = None if freq.hours is None else now - timedelta(hours=freq.hours)
    counts = await u.rules.action_counts(rule.id, since)
    rows: list[RuleAction] = []
    as_of = ev.data_as_of
    for hit in ev.hits:
        t = hit.target
        key = f"{rule.id}:{run.slot:%Y%m%dT%H%M}:{t.account_id}:{t.object_id}"
        found = await u.rules.action_by_key(key)
        if found is not None:
            rows.append(found)
            continue
        if counts.get((t.account_id, t.object_id), 0) >= freq.times:
            continue
        state = _initial_state(spec, settings, hit)
        row = RuleAction(
            key=key,
            rule_id=rule.id,
            run_id=run.id,
            user_id=rule.user_id,
            ad_account_id=t.account_id,
            level=t.level,
            object_id=t.object_id,
            object_name=hit.name[:512],
            kind=spec.action.kind.value,
            state=state,
            params=_params(spec),
            trigger=_trigger(hit, spec, rule.text, as_of),
            before={},
            after={},
            created_at=now,
            expires_at=(
                now + timedelta(minutes=settings.approval_minutes) if state == "proposed" else None
            ),
        )
        u.rules.add_action(row)
        rows.append(row)
    await u.session.flush()
    return rows


async def enqueue_alert(
    u: UnitOfWork,
    user_id: int,
    kind: str,
    key: str,
    params: dict[str, object],
    now: datetime,
    urgent: bool,
) -> None:
    """Queue an alert; one that is not urgent waits out the user's quiet hours."""
    hold = None
    if not urgent:
        user = await u.users.get(user_id)
        if user is not None:
            hold = quiet_until(now, user.time_zone, user.quiet_from, user.quiet_to)
    await u.outbox.enqueue(user_id, kind, key, params, now, not_before=hold)


async def _finish(
    u: UnitOfWork,
    rule: Rule,
    run: RuleRun,
    ev: Evaluation,
    rows: list[RuleAction],
    owner: str,
    now: datetime,
) -> None:
    settings = from_json(rule.settings)
    if ev.stale:
        # Told once per stale spell: the key holds each account's last good data time, which
        # stays the same until a sync succeeds again.
        spell = ",".join(f"{sa.account.id}@{sa.account.fresh_as_of}" for sa in ev.stale)
        await enqueue_alert(
            u,
            rule.user_id,
            "rule_stale",
            f"rule-stale:{rule.id}:{hashlib.sha256(spell.encode()).hexdigest()[:32]}",
            {"rule_id": rule.id, "accounts": [sa.account.id for sa in ev.stale]},
            now,
            urgent=False,
        )
    said = [r for r in rows if r.state in ALERTED]
    if len(said) >= DIGEST_AT:
        urgent = any(r.state == "proposed" for r in said)
        await enqueue_alert(
            u, rule.user_id, "rule_digest", f"rule-digest:{run.id}", {"run_id": run.id}, now, urgent
        )
    else:
        for row in said:
            await enqueue_alert(
                u,
                rule.user_id,
                "rule_action",
                f"rule-action:{row.id}",
                {"action_id": row.id},
                now,
                urgent=row.state == "proposed",
            )
    fresh = ev.accounts > 0 or not ev.stale
    run.status = "ok" if fresh else "stale"
    run.finished_at, run.data_as_of, run.checked = now, ev.data_as_of, ev.checked
    run.matched = len(
        {(h.target.account_id, h.target.object_id) for h in ev.hits}
        | {(r.ad_account_id, r.object_id) for r in rows}
    )
    run.acted = sum(r.state == "applied" for r in rows)
    run.proposed = sum(r.state == "proposed" for r in rows)
    run.note = None if fresh else "stale"
    user = await u.users.get(rule.user_id)
    due = next_due(settings.schedule, now, user.time_zone if user else "UTC")
    await u.rules.release(rule.id, owner, due_at=due, ran_at=now)


async def run_rule(
    uow: UnitOfWorkFactory, clock: Clock, changer: Changer, rule: Rule, ev: Evaluation, owner: str
) -> RuleRun:
    """Record, apply and announce what one evaluated rule found; move it to its next slot."""
    spec, settings = parse_cached(rule.text), from_json(rule.settings)
    assert rule.due_at is not None
    now = clock.now()
    async with uow() as u:
        run = await u.rules.run_for(rule.id, rule.due_at, now)
        rows = await _record_hits(u, rule, run, spec, settings, ev, now)
        # An earlier attempt at this slot may have acted and then crashed before announcing:
        # what it did no longer matches (a paused ad is not a candidate), so its rows are
        # taken up here and announced and counted with this attempt's.
        known = {r.id for r in rows}
        rows += [r for r in await u.rules.actions_of_run(run.id) if r.id not in known]
        await u.commit()
    targets = {(h.target.account_id, h.target.object_id): h.target for h in ev.hits}
    done = []
    for row in rows:
        if row.state == "applying":
            target = targets.get((row.ad_account_id, row.object_id))
            if target is None:
                async with uow() as u:
                    target = await execute.target_of(u, row)
            row = (
                await execute.apply(uow, clock, changer, row, target)
                if target is not None
                else await execute.fail(uow, row.id, execute.NOT_TRACKED)
            )
        done.append(row)
    async with uow() as u:
        run = await u.session.merge(run)
        await _finish(u, rule, run, ev, done, owner, clock.now())
        await u.commit()
    log.info(
        "rules.ran",
        extra={
            "rule_id": rule.id,
            "checked": ev.checked,
            "matched": len(ev.hits),
            "stale": len(ev.stale),
        },
    )
    return run


async def run_due(
    uow: UnitOfWorkFactory, clock: Clock, changer: Changer, owner: str, limit: int = BATCH
) -> int:
    """Run the rules that are due now; returns how many ran."""
    now = clock.now()
    async with uow() as u:
        rules = await u.rules.claim_due(owner, now, now + LEASE, limit)
        await u.commit()
    if not rules:
        return 0
    async with uow() as u:
        evaluations = await evaluate(u, rules, now)
    ran = 0
    for rule in rules:
        try:
            await run_rule(uow, clock, changer, rule, evaluations[rule.id], owner)
            ran += 1
        except Exception:
            # Same slot next tick: the recorded rows make the repeat safe.
            log.exception("rules.run_failed", extra={"rule_id": rule.id})
            async with uow() as u:
                await u.rules.release(rule.id, owner, due_at=rule.due_at or now, ran_at=None)
                await u.commit()
    return ran


async def release_leases(uow: UnitOfWorkFactory, owner: str) -> None:
    """Give back this worker's rule leases (a clean shutdown)."""
    async with uow() as u:
        await u.rules.release_all(owner)
        await u.commit()
