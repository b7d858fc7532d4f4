"""The rules engine: runs due rules, records what they do, and queues the alerts.

A tick claims due rules with a lease (design.md, Scheduling), evaluates the whole batch with
one aggregate query per ad account and level for every window the batch needs (windows are
the account's local days, core.rules.windows; the evaluation is core.rules.batch, the objects
it reads core.rules.world, the integer tests core.rules.exact), and then, per rule:

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

A chat gets one digest per tick, not one per rule run (core.rules.tick): each run's alerts
carry the tick's batch and are held until the tick ends; the notifier merges them at send time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from core import observe
from core.billing.limits import rule_floor
from core.billing.plans import Catalogue
from core.clock import Clock
from core.quiet import quiet_until
from core.rules import execute
from core.rules.acting import ActionError, Changer, change_for, is_increase
from core.rules.batch import BATCH, Evaluation, evaluate, parse_cached
from core.rules.model import ActionKind, RuleSpec
from core.rules.schedule import next_due
from core.rules.settings import RuleSettings, from_json
from core.rules.tick import Tick
from core.rules.world import Hit
from storage.models import Rule, RuleAction, RuleRun
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
DIGEST_AT = 4  # this many alerts or more from one run are queued as one (a tick's merge anyway)
ALERTED = ("applied", "failed", "proposed", "alerted")
TRIGGERS_KEPT = 10  # names of matched children kept with a parent's action
Progress = Callable[[int, int], Awaitable[None]]  # (done, total) while a run applies changes


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


def _stale_spells(
    before: dict[str, str] | None, ev: Evaluation, now: datetime
) -> dict[str, str]:
    """The stale spells after a run: each account too old now ("<id>:tracker" when it is the
    tracker's data) → when its spell began (kept from `before` while it goes on)."""
    before = before or {}
    keys = [f"{sa.account.id}:tracker" if sa.account.id in ev.tracker_stale else str(sa.account.id)
            for sa in ev.stale]
    return {k: before.get(k, now.isoformat()) for k in keys}


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
    spells = _stale_spells(rule.stale_since, ev, now)
    if spells.keys() - (rule.stale_since or {}).keys():
        # Told once per stale spell: only when an account's data has just become too old for
        # the rule. A spell goes on while its data stays too old, even if a late sync nudges
        # the data's time forward, and ends at the first run that finds the data fresh.
        params: dict[str, object] = {
            "rule_id": rule.id,
            "accounts": [sa.account.id for sa in ev.stale],
        }
        if ev.tracker_stale:
            params["tracker"] = {
                str(a): when.isoformat() if when else None for a, when in ev.tracker_stale.items()
            }
        spell = ",".join(f"{k}@{v}" for k, v in sorted(spells.items()))
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
    await u.rules.release(rule.id, owner, due_at=due, ran_at=now, stale_since=spells or None)


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
