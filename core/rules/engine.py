"""The rules engine: runs due rules, records what they do, and queues the alerts.

A tick claims due rules with a lease (design.md, Scheduling), evaluates the whole batch with
one aggregate query per ad account and level for every window the batch needs (windows are
the account's local days, core.rules.windows), and then, per rule:

1. skips accounts whose data is older than the rule's tolerance (the freshness guard; for a
   rule reading tracker metrics, the trackers' last good pull too: core.rules.tracker) and
   tells the user once per stale spell; objects the tracker has no data for are skipped with
   that reason, never judged on revenue they do not have;
2. skips matching objects whose budget or bid the action cannot change (core.eligibility: CBO,
   unlimited budgets, no custom bid, ads) and counts them per reason; with `budget of
   campaign` acts on the parent, once for all its matching children;
3. records one action row per matching object under a key made of rule, slot and object, so a
   retried run finds its rows instead of acting twice; the per-object frequency limit counts
   those rows;
4. applies the automatic ones (core.rules.execute), leaves risky ones as approvals that expire,
   and queues alerts — one per action, or one digest when a run has many — in the transaction
   that finishes the run and moves the rule to its next slot. Until that commits, the rule is
   still due at the same slot, so a crash anywhere repeats the run, never loses its alerts.

A chat gets one digest per tick, not one per rule run (see `Tick` below): each run's alerts
carry the tick's batch and are held until the tick ends; the notifier merges them at send time.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from core import observe
from core.billing.limits import rule_floor
from core.billing.plans import Catalogue
from core.clock import Clock
from core.eligibility import Blocked, Shape, blocked, shape_of
from core.gc_pause import gc_paused
from core.metrics import Totals
from core.periods import local_today
from core.quiet import quiet_until
from core.rules import execute
from core.rules.acting import ActionError, Changer, State, Target, change_for, is_increase
from core.rules.evaluate import (
    Facts,
    Reading,
    compiled,
    readings,
    reads_bid,
    summed,
    windows_of,
)
from core.rules.model import Action, ActionKind, RuleSpec, Window, status_word
from core.rules.schedule import next_due
from core.rules.settings import RuleSettings, from_json
from core.rules.text import parse_rule
from core.rules.tracker import (
    NO_DATA,
    TrackerSums,
    lacks_data,
    tracker_fresh,
    tracker_windows,
)
from core.rules.windows import window_range
from storage.models import Rule, RuleAction, RuleRun
from storage.repos.rules import DayRange, ObjectRow, ScopeAccount
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
BATCH = 1000  # rules claimed and evaluated together (their sums share queries)
DIGEST_AT = 4  # this many alerts or more from one run are queued as one (a tick's merge anyway)
ALERTED = ("applied", "failed", "proposed", "alerted")
TRIGGERS_KEPT = 10  # names of matched children kept with a parent's action
Progress = Callable[[int, int], Awaitable[None]]  # (done, total) while a run applies changes


# --- Tick digests (issue 11) ------------------------------------------------------------------
# Which property stays exactly-once, and why it survives a crash:
# - Each rule run still writes its alerts (one per action, or one per run) in the transaction
#   that finishes the run, under dedup keys of that run: writing stays exactly-once, as before.
# - The tick only adds a batch name and holds its alerts until the tick is over (`release`), so
#   a chat's alerts of one tick are due together. A crash before the release delays them to
#   `held_until` (a few minutes), never loses them; a tick that outlasts the hold sends what is
#   due so far as one message and the rest as another.
# - Merging is the notifier's, at send time (storage.repos.outbox `absorb`): in the transaction
#   that marks the leader as sending, the others are stamped `merged_into` the leader, so the
#   set one message carries is fixed before it is sent and none is ever claimed alone again; a
#   crash after the send re-renders the same set, which the notifier's probe recognises.
# Approvals are held only until the tick ends (seconds), never by quiet hours.
TICK_HOLD = timedelta(minutes=5)


@dataclass(frozen=True)
class Tick:
    """One scheduler tick (or one "Run now"): the batch its rule alerts share."""

    batch: str
    held_until: datetime

    @staticmethod
    def start(now: datetime, lease: timedelta = LEASE) -> Tick:
        """A new tick starting `now` (a random tail: instances may tick at the same moment).

        Its alerts are held no longer than the rules' `lease`: a crashed tick's alerts then go
        out by the time its rules are another worker's, not minutes after."""
        hold = min(TICK_HOLD, lease)
        return Tick(f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(8)}", now + hold)

    def hold(self, quiet: datetime | None) -> datetime:
        """When an alert of this tick may go: at the tick's end (release), or later still when
        quiet hours hold it (just past `held_until`, so the release leaves it alone)."""
        if quiet is None or quiet <= self.held_until:
            return self.held_until if quiet is None else self.held_until + timedelta(seconds=1)
        return quiet

    async def release(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        """The tick is over: its held alerts are due now."""
        async with uow() as u:
            await u.outbox.release_batch(self.batch, self.held_until, clock.now())
            await u.commit()


# --- end of tick digests ----------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """An object a rule matched, the facts it matched on, and its values as last synced."""

    target: Target
    name: str
    facts: Facts
    synced: State
    spec: RuleSpec
    at: datetime
    # When the action goes one level up (`budget of campaign`): the matched objects that
    # pointed at this one (it is acted on once however many did).
    triggers: tuple[str, ...] = ()

    @property
    def readings(self) -> list[Reading]:
        """What each condition read (worked out only for the hits that get explained)."""
        return readings(self.spec, self.facts, self.at)


@dataclass(frozen=True)
class Skip:
    """A matched object the action cannot change, and why (core.eligibility.Blocked)."""

    account_id: int
    object_id: str
    name: str
    reason: str


@dataclass
class Evaluation:
    """What one rule found in one evaluation: `hits` are what it acts on (a campaign once for
    all its matched ad groups, with `budget of campaign`), `skipped` the matched objects whose
    budget or bid cannot be changed, `matched` every object whose conditions held."""

    checked: int = 0
    accounts: int = 0
    hits: list[Hit] = field(default_factory=list)
    stale: list[ScopeAccount] = field(default_factory=list)
    data_as_of: datetime | None = None
    matched: set[tuple[int, str]] = field(default_factory=set)
    skipped: list[Skip] = field(default_factory=list)
    # Accounts in `stale` because their tracker data is too old for a rule reading tracker
    # metrics: account id → the trackers' last good pull (None: never).
    tracker_stale: dict[int, datetime | None] = field(default_factory=dict)

    def skipped_counts(self) -> dict[str, int]:
        """How many matched objects were skipped, per reason."""
        out: dict[str, int] = defaultdict(int)
        for skip in self.skipped:
            out[skip.reason] += 1
        return dict(out)

    # Checked objects without a bid of their own (automatic bidding) when the rule reads it:
    # a condition on the bid never holds for them, and a preview says so.
    no_bid: int = 0


def _budget(obj: ObjectRow) -> Decimal | None:
    if obj.budget_mode == "BUDGET_MODE_INFINITE" or not obj.budget:
        return None
    return obj.budget


class _World:
    """The objects and sums a batch of rules reads, loaded once per batch."""

    def __init__(self) -> None:
        self.objects: dict[tuple[int, str], list[ObjectRow]] = defaultdict(list)
        self.by_id: dict[tuple[int, str, str], ObjectRow] = {}
        self.budgets: dict[tuple[int, str, str], Decimal | None] = {}
        self.bids: dict[tuple[int, str, str], Decimal | None] = {}
        # (account, level, object) → its sums per window.
        self.sums: dict[tuple[int, str, str], dict[Window, Totals]] = {}
        # (account, level, object) → the tracker's sums per window it has data for.
        self.tracker: dict[tuple[int, str, str], dict[Window, TrackerSums]] = {}
        self._facts: dict[tuple[int, str, str], Facts] = {}
        self._acting: dict[tuple[int, str, str], tuple[Target, State]] = {}
        self._candidates: dict[tuple[int, str, str], list[tuple[ObjectRow, Facts]]] = {}

    def candidates(self, account_id: int, level: str, status: str) -> list[tuple[ObjectRow, Facts]]:
        """The objects of one account level with this operation status, with their facts
        (worked out once per batch: every rule of the level on the account reads them)."""
        key = (account_id, level, status)
        found = self._candidates.get(key)
        if found is None:
            found = self._candidates[key] = [
                (o, self.facts(o))
                for o in self.objects.get((account_id, level), [])
                if o.operation_status == status
            ]
        return found

    def add_objects(self, objects: Sequence[ObjectRow]) -> None:
        """Index objects by account and level, and work out each one's effective budget (an
        ad group without its own budget spends its campaign's; an ad, its ad group's)."""
        for obj in objects:
            self.objects[(obj.ad_account_id, obj.level)].append(obj)
            self.by_id[(obj.ad_account_id, obj.level, obj.object_id)] = obj
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
                # The bid lives on the ad group (an ad bids with its ad group's; campaigns none).
                if level != "campaign":
                    self.bids[(obj.ad_account_id, level, obj.object_id)] = (
                        obj.bid if level == "adgroup" else self.bids.get(parent)
                    )

    def shape(self, obj: ObjectRow) -> Shape:
        """What decides whether the object's budget or bid can change (core.eligibility)."""
        campaign = self.by_id.get((obj.ad_account_id, "campaign", obj.campaign_id or ""))
        return shape_of(obj, campaign)

    def aim(self, obj: ObjectRow, action: Action) -> ObjectRow | Blocked:
        """The object an action changes when `obj` matches (itself, or the parent the rule
        names), or why it cannot: a budget or bid that does not exist there."""
        if action.kind not in (ActionKind.BUDGET, ActionKind.BID):
            return obj
        target: ObjectRow | None = obj
        if action.on is not None:
            parent = obj.campaign_id if action.on == "campaign" else obj.adgroup_id
            target = self.by_id.get((obj.ad_account_id, action.on, parent or ""))
        if target is None:
            return Blocked.PARENT_UNKNOWN
        reason = blocked(action.kind.value, self.shape(target))
        return target if reason is None else reason

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
                self.sums.get(key, {}),
                status_word(obj.operation_status, obj.secondary_status),
                bid=self.bids.get(key),
                tracker=self.tracker.get(key),
            )
        return found

    def hit(
        self,
        sa: ScopeAccount,
        obj: ObjectRow,
        facts: Facts,
        spec: RuleSpec,
        now: datetime,
        triggers: tuple[str, ...] = (),
    ) -> Hit:
        """A match of one rule on one object (where to act and the values as last synced are
        the same for every rule of the batch: worked out once per object); `triggers`: the
        matched children's names when the rule acts on this parent of theirs."""
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
        # Hit(...) without the frozen dataclass's per-field object.__setattr__ (a batch makes
        # thousands): the same fields, so the same object.
        hit = object.__new__(Hit)
        hit.__dict__.update(
            target=acting[0],
            name=obj.name,
            facts=facts,
            synced=acting[1],
            spec=spec,
            at=now,
            triggers=triggers,
        )
        return hit


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
        days: dict[Window, DayRange] = {}
        hours: dict[Window, tuple[date, int]] = {}
        # In a fixed order (Facts.windows keeps it).
        for window in sorted(windows, key=repr):
            rng = window_range(window, now, tz)
            if rng.hour is not None:
                hours[window] = rng.hour
            else:
                days[window] = DayRange(rng.start, rng.end)
        # Accounts whose rule sums are as of their local today read those (storage.rule_sums).
        today = local_today(now, tz)
        raw = await u.rules.window_sums(ids, level, days, hours, make=Totals.of, today=today)
        for (account_id, oid), per in raw.items():
            world.sums[(account_id, level, oid)] = per


async def _load_tracker(
    u: UnitOfWork,
    world: _World,
    accounts: dict[int, ScopeAccount],
    needs: dict[tuple[int, str], set[Window]],
    now: datetime,
) -> None:
    """The tracker's sums per object and window for rules reading tracker metrics: a window
    is known for an object once the tracker has reported it on or before the window's last
    day (core.rules.tracker); before that it stays out (no data, never zero)."""
    groups: dict[tuple[str, str], tuple[list[int], set[Window]]] = {}
    for (account_id, level), windows in needs.items():
        ids, union = groups.setdefault((level, accounts[account_id].account.time_zone), ([], set()))
        ids.append(account_id)
        union |= windows
    for (level, tz), (ids, windows) in groups.items():
        keyed = {str(i): w for i, w in enumerate(sorted(windows, key=repr))}
        ranges = {k: window_range(w, now, tz) for k, w in keyed.items()}
        days = {k: DayRange(r.start, r.end) for k, r in ranges.items()}
        first = await u.rules.tracker_first_days(ids, level)
        sums = await u.rules.tracker_sums(ids, level, days)
        for (account_id, oid), since in first.items():
            found = sums.get((account_id, oid), {})
            world.tracker[(account_id, level, oid)] = {
                keyed[k]: _tracker_sums(found.get(k))
                for k, rng in ranges.items()
                if since <= rng.end
            }


def _tracker_sums(raw: tuple[int, int, int] | None) -> TrackerSums:
    if raw is None:
        return TrackerSums()
    return TrackerSums(raw[0], raw[1], Decimal(raw[2]).scaleb(-6))


def _wanted(spec: RuleSpec) -> str:
    # Enabling looks at what is off; everything else at what is running.
    return "DISABLE" if spec.action.kind is ActionKind.ENABLE else "ENABLE"


def _candidates(
    world: _World, spec: RuleSpec, settings: RuleSettings, sa: ScopeAccount
) -> list[ObjectRow]:
    wanted = _wanted(spec)
    objects = world.objects.get((sa.account.id, spec.level.value), [])
    scope = settings.scope
    if scope.match == "all":
        return [o for o in objects if o.operation_status == wanted]
    return [
        o for o in objects if o.operation_status == wanted and scope.admits(o.object_id, o.name)
    ]


def _aimed(
    world: _World,
    sa: ScopeAccount,
    spec: RuleSpec,
    matched: list[tuple[ObjectRow, Facts]],
    now: datetime,
    ev: Evaluation,
) -> list[Hit]:
    """The hits for what matched: objects whose budget or bid cannot change are skipped with
    the reason (never asked about), and a parent the rule names is one hit for all its
    matched children (so counted, limited and changed once)."""
    account_id = sa.account.id
    ev.matched.update([(account_id, o.object_id) for o, _ in matched])
    if spec.action.kind not in (ActionKind.BUDGET, ActionKind.BID):
        # Acts on each matched object itself (World.aim): nothing to skip or merge.
        return [world.hit(sa, obj, facts, spec, now) for obj, facts in matched]
    aimed: dict[str, tuple[ObjectRow, Facts, list[str]]] = {}
    for obj, facts in matched:
        target = world.aim(obj, spec.action)
        if isinstance(target, Blocked):
            ev.skipped.append(Skip(sa.account.id, obj.object_id, obj.name, target.value))
            continue
        aimed.setdefault(target.object_id, (target, facts, []))[2].append(obj.name)
    return [
        world.hit(sa, target, facts, spec, now, tuple(names) if target.level != spec.level else ())
        for target, facts, names in aimed.values()
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
    # Tracker metrics (issue 12): only rules reading them load the trackers' state and sums.
    tracked_needs: dict[tuple[int, str], set[Window]] = defaultdict(set)
    trackers: dict[int, datetime | None] = {}
    if any(tracker_windows(spec) for spec, _ in parsed.values()):
        owners = {sa.account.id: sa.user_id for found in scopes.values() for sa in found}
        trackers = await u.rules.tracker_freshness(owners)
    for rule in rules:
        spec, settings = parsed[rule.id]
        chosen = settings.scope.accounts
        ev = out[rule.id] = Evaluation()
        plan[rule.id] = []
        tracked = tracker_windows(spec)
        for sa in scopes[rule.user_id]:
            if chosen is not None and sa.account.id not in chosen:
                continue
            loaded[sa.account.id] = sa
            if not _fresh(sa, settings, now):
                ev.stale.append(sa)
                continue
            tracker_as_of = trackers.get(sa.account.id)
            if tracked and sa.account.id in trackers:
                # Accounts without a tracker go on: their objects have no tracker data.
                if not tracker_fresh(tracker_as_of, settings.freshness_minutes, now):
                    ev.stale.append(sa)
                    ev.tracker_stale[sa.account.id] = tracker_as_of
                    continue
                tracked_needs[(sa.account.id, spec.level.value)] |= tracked
            plan[rule.id].append(sa)
            ev.accounts += 1
            accounts[sa.account.id] = sa
            needs[(sa.account.id, spec.level.value)] |= windows_of(spec)
            as_of = sa.account.fresh_as_of
            if tracked and tracker_as_of is not None:
                as_of = min(as_of, tracker_as_of)
            ev.data_as_of = as_of if ev.data_as_of is None else min(ev.data_as_of, as_of)
    world = _World()
    world.add_objects(await u.rules.objects(list(loaded)))
    await _load_sums(u, world, accounts, needs, now)
    if tracked_needs:
        await _load_tracker(u, world, accounts, tracked_needs, now)
    for rule in rules:
        spec, settings = parsed[rule.id]
        ev = out[rule.id]
        # Only accounts holding objects this rule would look at make a skipped run worth
        # telling (as last synced: a rule narrowed to a few ads skips nothing elsewhere).
        ev.stale = [sa for sa in ev.stale if _candidates(world, spec, settings, sa)]
        if ev.tracker_stale:
            told = {sa.account.id for sa in ev.stale}
            ev.tracker_stale = {a: t for a, t in ev.tracker_stale.items() if a in told}
        test = compiled(spec.when)
        bids, facts_of = reads_bid(spec), world.facts
        tracked = tracker_windows(spec)
        # The common case (every object of the level, judged one by one) reads the batch's
        # candidates with their facts as they are.
        plain = settings.scope.match == "all" and not tracked and settings.aggregate != "sum"
        wanted = _wanted(spec)
        for sa in plan[rule.id]:
            if plain:
                pairs = world.candidates(sa.account.id, spec.level.value, wanted)
                ev.checked += len(pairs)
                if bids:
                    ev.no_bid += sum(1 for _, f in pairs if f.bid is None)
                ev.hits += _aimed(world, sa, spec, [p for p in pairs if test(p[1], now)], now, ev)
                continue
            objects = _candidates(world, spec, settings, sa)
            ev.checked += len(objects)
            if bids:
                ev.no_bid += sum(1 for o in objects if facts_of(o).bid is None)
            if tracked:
                objects = _without_tracker_data(
                    objects, facts_of, tracked, settings, test, now, sa, ev
                )
            if settings.aggregate == "sum":
                # Summed within one ad account: amounts in different currencies never add.
                total = summed([facts_of(o) for o in objects], sa.account.name)
                if objects and test(total, now):
                    ev.hits += _aimed(world, sa, spec, [(o, total) for o in objects], now, ev)
                continue
            matched = [(o, f) for o in objects if test(f := facts_of(o), now)]
            ev.hits += _aimed(world, sa, spec, matched, now, ev)
    return out


def _without_tracker_data(
    objects: list[ObjectRow],
    facts_of: Callable[[ObjectRow], Facts],
    tracked: frozenset[Window],
    settings: RuleSettings,
    test: Callable[[Facts, datetime], bool],
    now: datetime,
    sa: ScopeAccount,
    ev: Evaluation,
) -> list[ObjectRow]:
    """For a rule reading tracker metrics: the objects it may judge. Those the tracker has no
    data for are skipped with the reason (never read as zero revenue) — unless the rule holds
    for them anyway on its other conditions (an `or`); a summed scope leaves them all out."""
    keep: list[ObjectRow] = []
    for obj in objects:
        facts = facts_of(obj)
        if not lacks_data(facts.tracker, tracked) or (
            settings.aggregate != "sum" and test(facts, now)
        ):
            keep.append(obj)
        else:
            ev.skipped.append(Skip(sa.account.id, obj.object_id, obj.name, NO_DATA))
    return keep


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
        # The matched children a parent's change is made for (a few names and how many).
        "triggers": list(hit.triggers[:TRIGGERS_KEPT]),
        "trigger_count": len(hit.triggers),
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
            # Ours when this run is repeated; another run's ("Run now" in a scheduled slot's
            # minute) already acted and announced: it counts as done, not again.
            if found.run_id == run.id:
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
    tick: Tick | None = None,
) -> None:
    """Queue an alert; one that is not urgent waits out the user's quiet hours. With a `tick`,
    it joins the tick's batch and waits for the tick to end (Tick)."""
    hold = None
    if not urgent:
        user = await u.users.get(user_id)
        if user is not None:
            hold = quiet_until(now, user.time_zone, user.quiet_from, user.quiet_to)
    if tick is not None:
        hold = tick.hold(hold)
    batch = tick.batch if tick is not None else None
    await u.outbox.enqueue(user_id, kind, key, params, now, not_before=hold, batch=batch)


async def _finish(
    u: UnitOfWork,
    rule: Rule,
    run: RuleRun,
    ev: Evaluation,
    rows: list[RuleAction],
    owner: str,
    now: datetime,
    tick: Tick | None = None,
    catalogue: Catalogue | None = None,
) -> None:
    settings = from_json(rule.settings)
    if ev.stale:
        # Told once per stale spell: the key holds each account's last good data time, which
        # stays the same until a sync succeeds again.
        # For tracker data too old, the trackers' last good pull (TikTok's keeps moving).
        spell = ",".join(
            f"{sa.account.id}@t{ev.tracker_stale[sa.account.id]}"
            if sa.account.id in ev.tracker_stale
            else f"{sa.account.id}@{sa.account.fresh_as_of}"
            for sa in ev.stale
        )
        params: dict[str, object] = {
            "rule_id": rule.id,
            "accounts": [sa.account.id for sa in ev.stale],
        }
        if ev.tracker_stale:
            params["tracker"] = {
                str(a): when.isoformat() if when else None for a, when in ev.tracker_stale.items()
            }
        await enqueue_alert(
            u,
            rule.user_id,
            "rule_stale",
            f"rule-stale:{rule.id}:{hashlib.sha256(spell.encode()).hexdigest()[:32]}",
            params,
            now,
            urgent=False,
        )
    said = [r for r in rows if r.state in ALERTED]
    if len(said) >= DIGEST_AT:
        urgent = any(r.state == "proposed" for r in said)
        await enqueue_alert(
            u,
            rule.user_id,
            "rule_digest",
            f"rule-digest:{run.id}",
            {"run_id": run.id},
            now,
            urgent,
            tick,
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
                tick=tick,
            )
    fresh = ev.accounts > 0 or not ev.stale
    run.status = "ok" if fresh else "stale"
    run.finished_at, run.data_as_of, run.checked = now, ev.data_as_of, ev.checked
    # Matched objects, plus what an earlier attempt at this slot acted on and no longer
    # matches (parents acted on for their children count as their children did).
    aimed = {(h.target.account_id, h.target.object_id) for h in ev.hits}
    run.matched = len(
        ev.matched
        | {
            (r.ad_account_id, r.object_id)
            for r in rows
            if (r.ad_account_id, r.object_id) not in aimed
        }
    )
    run.skipped = ev.skipped_counts() or None
    run.acted = sum(r.state == "applied" for r in rows)
    run.proposed = sum(r.state == "proposed" for r in rows)
    run.note = None if fresh else "stale"
    user = await u.users.get(rule.user_id)
    # The next slot at no faster a cadence than the owner's plan allows (a rule set to every
    # 15 minutes runs hourly on a plan whose floor is 60).
    floor = await rule_floor(u, catalogue, now, rule.user_id) if catalogue else None
    due = next_due(settings.schedule, now, user.time_zone if user else "UTC", floor)
    await u.rules.release(rule.id, owner, due_at=due, ran_at=now)


async def run_rule(
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer,
    rule: Rule,
    ev: Evaluation,
    owner: str,
    *,
    slot: datetime | None = None,
    tick: Tick | None = None,
    progress: Progress | None = None,
    catalogue: Catalogue | None = None,
) -> RuleRun:
    """Record, apply and announce what one evaluated rule found; move it to its next slot.
    `slot`: the run's slot (default: the due time it serves); `tick`: the batch its alerts
    join; `progress(done, total)` after each change it applies; `catalogue`: the plans, whose
    cadence floor the next slot keeps to (None: the rule's own schedule)."""
    spec, settings = parse_cached(rule.text), from_json(rule.settings)
    slot = slot or rule.due_at
    assert slot is not None
    now = clock.now()
    async with uow() as u:
        run = await u.rules.run_for(rule.id, slot, now)
        rows = await _record_hits(u, rule, run, spec, settings, ev, now)
        # An earlier attempt at this slot may have acted and then crashed before announcing:
        # what it did no longer matches (a paused ad is not a candidate), so its rows are
        # taken up here and announced and counted with this attempt's.
        known = {r.id for r in rows}
        rows += [r for r in await u.rules.actions_of_run(run.id) if r.id not in known]
        await u.commit()
    targets = {(h.target.account_id, h.target.object_id): h.target for h in ev.hits}
    done = []
    todo, applied = sum(r.state == "applying" for r in rows), 0
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
            applied += 1
            if progress is not None:
                await progress(applied, todo)
        done.append(row)
    async with uow() as u:
        run = await u.session.merge(run)
        await _finish(u, rule, run, ev, done, owner, clock.now(), tick, catalogue)
        await u.commit()
    seen = observe.current()
    seen.rule_run(run.status)
    for row in done:
        seen.rule_action(row.state)
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
    uow: UnitOfWorkFactory,
    clock: Clock,
    changer: Changer,
    owner: str,
    limit: int = BATCH,
    catalogue: Catalogue | None = None,
    lease: timedelta = LEASE,
) -> int:
    """Run the rules that are due now (each held for `lease`), each next due at its owner's
    plan's cadence (when the `catalogue` is given); returns how many ran."""
    now = clock.now()
    async with uow() as u:
        rules = await u.rules.claim_due(owner, now, now + lease, limit)
        await u.commit()
    if not rules:
        return 0
    async with uow() as u:
        evaluations = await evaluate(u, rules, now)
    ran, tick = 0, Tick.start(now, lease)
    # A long tick keeps the rules it has not reached yet: every third of the lease it renews
    # them all. One that stalled longer (an overloaded or frozen worker) may have lost some to
    # another worker's claim: those are left alone, so no rule runs in two places at once.
    mine, renewed = {r.id for r in rules}, now
    try:
        for n, rule in enumerate(rules):
            if clock.now() - renewed >= lease / 3:
                renewed = clock.now()
                async with uow() as u:
                    mine = await u.rules.renew([r.id for r in rules[n:]], owner, renewed + lease)
                    await u.commit()
            if rule.id not in mine:
                log.warning("rules.lease_lost", extra={"rule_id": rule.id})
                continue
            try:
                await run_rule(uow, clock, changer, rule, evaluations[rule.id], owner, tick=tick,
                               catalogue=catalogue)
                ran += 1
            except Exception:
                # Same slot next tick: the recorded rows make the repeat safe.
                log.exception("rules.run_failed", extra={"rule_id": rule.id})
                observe.current().rule_run("error")
                async with uow() as u:
                    await u.rules.release(rule.id, owner, due_at=rule.due_at or now, ran_at=None)
                    await u.commit()
    finally:
        await tick.release(uow, clock)
    return ran


async def release_leases(uow: UnitOfWorkFactory, owner: str) -> None:
    """Give back this worker's rule leases (a clean shutdown)."""
    async with uow() as u:
        await u.rules.release_all(owner)
        await u.commit()
