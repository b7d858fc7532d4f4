"""Evaluating a batch of rules against stored data: which accounts are fresh enough, the sums
every rule of the batch needs (one query per account group and level), and per rule the objects
it matches, skips or cannot judge (core.rules.engine records and acts on them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from core.eligibility import Blocked
from core.gc_pause import gc_paused
from core.periods import local_today
from core.rules.evaluate import Facts, compiled, reads_bid, summed, windows_of
from core.rules.exact import Candidate, filtered
from core.rules.model import ActionKind, RuleSpec, Window
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
from core.rules.world import Hit, World
from storage.models import Rule
from storage.repos.rule_reads import DayRange, ObjectRow, ScopeAccount
from storage.uow import UnitOfWork

BATCH = 1000  # rules claimed and evaluated together (their sums share queries)


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


def _by_zone(
    accounts: dict[int, ScopeAccount], needs: dict[tuple[int, str], set[Window]]
) -> dict[tuple[str, str], tuple[list[int], set[Window]]]:
    """The accounts needing each level, grouped by time zone with the union of their windows:
    accounts in one time zone read the same local days, so one query serves all of them."""
    groups: dict[tuple[str, str], tuple[list[int], set[Window]]] = {}
    for (account_id, level), windows in needs.items():
        ids, union = groups.setdefault((level, accounts[account_id].account.time_zone), ([], set()))
        ids.append(account_id)
        union |= windows
    return groups


async def _load_sums(
    u: UnitOfWork,
    world: World,
    accounts: dict[int, ScopeAccount],
    needs: dict[tuple[int, str], set[Window]],
    now: datetime,
) -> None:
    for (level, tz), (ids, windows) in _by_zone(accounts, needs).items():
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
        raw = await u.rules.window_sums(ids, level, days, hours, make=None, today=today)
        for (account_id, oid), per in raw.items():
            world.sums[(account_id, level, oid)] = per


async def _load_tracker(
    u: UnitOfWork,
    world: World,
    accounts: dict[int, ScopeAccount],
    needs: dict[tuple[int, str], set[Window]],
    now: datetime,
) -> None:
    """The tracker's sums per object and window for rules reading tracker metrics: a window
    is known for an object once the tracker has reported it on or before the window's last
    day (core.rules.tracker); before that it stays out (no data, never zero)."""
    for (level, tz), (ids, windows) in _by_zone(accounts, needs).items():
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


def _held_too(spec: RuleSpec) -> bool:
    # Pausing for good also looks at what "pause for today" holds off: a match keeps it off
    # (core.rules.execute drops its switch-back) instead of letting midnight switch it back on.
    return spec.action.kind is ActionKind.PAUSE


def _candidates(
    world: World, spec: RuleSpec, settings: RuleSettings, sa: ScopeAccount
) -> list[ObjectRow]:
    wanted = _wanted(spec)
    held = _held_too(spec) and bool(world.held)
    objects = world.objects.get((sa.account.id, spec.level.value), [])
    scope = settings.scope
    return [
        o
        for o in objects
        if (o.operation_status == wanted or (held and world.is_held(o)))
        and (scope.match == "all" or scope.admits(o.object_id, o.name))
    ]


def _aimed(
    world: World,
    sa: ScopeAccount,
    spec: RuleSpec,
    matched: Sequence[tuple[ObjectRow, Facts] | Candidate],
    now: datetime,
    ev: Evaluation,
) -> list[Hit]:
    """The hits for what matched: objects whose budget or bid cannot change are skipped with
    the reason (never asked about), and a parent the rule names is one hit for all its
    matched children (so counted, limited and changed once)."""
    account_id = sa.account.id
    ev.matched.update([(account_id, m[0].object_id) for m in matched])
    if spec.action.kind not in (ActionKind.BUDGET, ActionKind.BID):
        # Acts on each matched object itself (World.aim): nothing to skip or merge.
        return [world.hit(sa, m[0], m[1], spec, now) for m in matched]
    aimed: dict[str, tuple[ObjectRow, Facts, list[str]]] = {}
    for m in matched:
        obj, facts = m[0], m[1]
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
    world = World()
    world.add_objects(await u.rules.objects(list(loaded)))
    if any(_held_too(spec) for spec, _ in parsed.values()):
        world.held = await u.rules.held_objects(list(loaded))
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
        fast = filtered(spec.when)  # the same test, on the integer sums
        bids, facts_of = reads_bid(spec), world.facts
        tracked = tracker_windows(spec)
        # The common case (every object of the level, judged one by one) reads the batch's
        # candidates with their facts as they are.
        plain = settings.scope.match == "all" and not tracked and settings.aggregate != "sum"
        wanted, held = _wanted(spec), _held_too(spec) and bool(world.held)
        for sa in plan[rule.id]:
            if plain:
                pairs = world.candidates(sa.account.id, spec.level.value, wanted, held)
                ev.checked += len(pairs)
                if bids:
                    ev.no_bid += sum(1 for c in pairs if c[1].bid is None)
                ev.hits += _aimed(world, sa, spec, fast(pairs, now), now, ev)
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
            ev.hits += _aimed(
                world, sa, spec, [(o, f) for o in objects if test(f := facts_of(o), now)], now, ev
            )
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


