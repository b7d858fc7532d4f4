"""Rule use-cases for the chat: save, list, switch on and off, duplicate, delete, preview,
conflicts and the run log. Every lookup is by owner: another user's rule id finds nothing."""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.billing.limits import RULES_ON, LimitReached, guard, rule_floor
from core.billing.plans import Catalogue
from core.clock import Clock
from core.rules.engine import Evaluation, evaluate
from core.rules.model import ActionKind, Level, RuleSpec
from core.rules.schedule import next_due
from core.rules.settings import RuleSettings, from_json, to_json, validate
from core.rules.text import MAX_LENGTH, RuleSyntaxError, format_rule, parse_rule
from storage.models import Rule, RuleAction, RuleRun
from storage.uow import UnitOfWorkFactory

MAX_RULES = 100


class RuleInvalid(ValueError):
    """The rule parses but cannot work: `reason` is a key the chat explains."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check(text: str) -> RuleSpec:
    """The rule a line describes, or RuleSyntaxError / RuleInvalid saying what is wrong."""
    spec = parse_rule(text)
    budget_or_bid = spec.action.kind in (ActionKind.BUDGET, ActionKind.BID)
    if budget_or_bid and spec.level is Level.AD and spec.action.on is None:
        raise RuleInvalid("budget_on_ad")  # unless it names the ad group or campaign
    if spec.action.kind is ActionKind.BID and spec.level is Level.CAMPAIGN:
        raise RuleInvalid("bid_on_campaign")
    if len(format_rule(spec)) > MAX_LENGTH:
        # Stored as its canonical text (every window spelled out, which can triple a typed
        # line): one the parser refuses would stop every run of it, and its batch, for good.
        raise RuleInvalid("too_long")
    return spec


def canonical(text: str) -> str:
    """The rule's text as it will be stored (every window spelled out)."""
    return format_rule(check(text))


@dataclass(frozen=True)
class Draft:
    """A rule being built in the chat (not saved yet, or an edit of rule `rule_id`)."""

    text: str
    settings: RuleSettings
    name: str = ""
    rule_id: int | None = None


async def save(uow: UnitOfWorkFactory, clock: Clock, user_id: int, draft: Draft,
               catalogue: Catalogue | None = None) -> Rule:
    """Create or update a rule from a draft; a new rule starts switched off. An edited rule that
    is on is next due at its schedule kept to the plan's cadence (`catalogue`; None: as set)."""
    spec = check(draft.text)
    settings = validate(draft.settings)
    text = format_rule(spec)
    name = draft.name[:64] or (text if len(text) <= 64 else text[:63] + "…")
    async with uow() as u:
        if draft.rule_id is None:
            if await u.rules.count(user_id) >= MAX_RULES:
                raise RuleInvalid("too_many")
            rule = Rule(
                user_id=user_id,
                name=name,
                text=text,
                level=spec.level.value,
                settings=to_json(settings),
                enabled=False,
                created_at=clock.now(),
            )
            u.rules.add(rule)
        else:
            found = await u.rules.get(user_id, draft.rule_id)
            if found is None:
                raise RuleInvalid("gone")
            rule = found
            rule.name, rule.text, rule.level = name, text, spec.level.value
            rule.settings = to_json(settings)
            if rule.enabled:
                user = await u.users.get(user_id)
                floor = await rule_floor(u, catalogue, clock.now(), user_id) if catalogue else None
                rule.due_at = next_due(
                    settings.schedule, clock.now(), user.time_zone if user else "UTC", floor
                )
        await u.commit()
    return rule


async def rules_of(uow: UnitOfWorkFactory, user_id: int) -> list[Rule]:
    """The user's rules."""
    async with uow() as u:
        return await u.rules.of_user(user_id)


async def get(uow: UnitOfWorkFactory, user_id: int, rule_id: int) -> Rule | None:
    """One of the user's rules."""
    async with uow() as u:
        return await u.rules.get(user_id, rule_id)


def draft_of(rule: Rule) -> Draft:
    """A draft for editing a saved rule."""
    # A name that is only the text (cut) follows the text when it is edited.
    derived = rule.text.startswith(rule.name.rstrip("…"))
    return Draft(rule.text, from_json(rule.settings), "" if derived else rule.name, rule.id)


async def set_enabled(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    rule_id: int,
    enabled: bool,
    catalogue: Catalogue | None = None,
) -> Rule | None:
    """Switch a rule on (it runs from its next scheduled slot, at no faster a cadence than the
    plan allows) or off. Switching on one more rule than the plan allows raises LimitReached
    (a rule a plan paused too: switching it on by hand is the same check). `catalogue`: the
    plans (None: no plan limits, for tools and tests that sell none)."""
    now = clock.now()
    async with uow() as u:
        rule = await u.rules.get(user_id, rule_id)
        if rule is None:
            return None
        if enabled and not rule.enabled:
            floor = None
            if catalogue is not None:
                hit = await guard(u, catalogue, now, user_id, RULES_ON)
                if hit is not None:
                    raise LimitReached(hit)
                floor = await rule_floor(u, catalogue, now, user_id)
            user = await u.users.get(user_id)
            rule.due_at = next_due(
                from_json(rule.settings).schedule, now, user.time_zone if user else "UTC", floor
            )
            rule.plan_paused_at = None
        rule.enabled = enabled
        await u.commit()
    return rule


async def duplicate(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, rule_id: int
) -> Rule | None:
    """A switched-off copy of a rule (a plan limits rules switched on, not rules kept)."""
    rule = await get(uow, user_id, rule_id)
    if rule is None:
        return None
    copy = replace(draft_of(rule), rule_id=None, name=f"{rule.name[:58]} (2)")
    return await save(uow, clock, user_id, copy)


async def delete(uow: UnitOfWorkFactory, user_id: int, rule_id: int) -> bool:
    """Delete a rule; what it already did stays in the log."""
    async with uow() as u:
        gone = await u.rules.remove(user_id, rule_id)
        await u.commit()
    return gone


async def preview(uow: UnitOfWorkFactory, clock: Clock, user_id: int, draft: Draft) -> Evaluation:
    """Which objects the rule matches right now (nothing is changed)."""
    spec = check(draft.text)
    probe = Rule(
        id=0,
        user_id=user_id,
        name="",
        text=format_rule(spec),
        level=spec.level.value,
        settings=to_json(draft.settings),
    )
    async with uow() as u:
        return (await evaluate(u, [probe], clock.now()))[0]


def _direction(spec: RuleSpec) -> tuple[str, int] | None:
    a = spec.action
    if a.kind in (ActionKind.PAUSE, ActionKind.PAUSE_TODAY):
        return "status", -1
    if a.kind is ActionKind.ENABLE:
        return "status", 1
    if a.kind in (ActionKind.BUDGET, ActionKind.BID):
        if a.mode == "set" or a.value is None:
            return a.kind.value, 0  # could go either way
        return a.kind.value, 1 if a.value > 0 else -1
    return None


def _overlap(a: RuleSettings, b: RuleSettings) -> bool:
    sa, sb = a.scope, b.scope
    if (
        sa.accounts is not None
        and sb.accounts is not None
        and not set(sa.accounts) & set(sb.accounts)
    ):
        return False
    # Two id lists are the only filters that can be told apart for sure.
    return not (sa.match == sb.match == "ids" and not set(sa.values) & set(sb.values))


async def conflicts(uow: UnitOfWorkFactory, user_id: int, draft: Draft) -> list[Rule]:
    """Enabled rules that can act on the same objects in the opposite direction."""
    spec = check(draft.text)
    mine = _direction(spec)
    if mine is None:
        return []
    out = []
    for other in await rules_of(uow, user_id):
        if not other.enabled or other.id == draft.rule_id or other.level != spec.level.value:
            continue
        try:
            theirs = _direction(parse_rule(other.text))
        except RuleSyntaxError:
            continue
        if theirs is None or theirs[0] != mine[0]:
            continue
        opposite = theirs[1] != mine[1] or mine[1] == 0
        if opposite and _overlap(draft.settings, from_json(other.settings)):
            out.append(other)
    return out


async def runs(
    uow: UnitOfWorkFactory, user_id: int, rule_id: int, limit: int, offset: int
) -> tuple[list[RuleRun], int] | None:
    """A page of a rule's run log, newest first, and the total."""
    async with uow() as u:
        if await u.rules.get(user_id, rule_id) is None:
            return None
        return await u.rules.runs(rule_id, limit, offset), await u.rules.run_count(rule_id)


async def run_detail(
    uow: UnitOfWorkFactory, user_id: int, run_id: int
) -> tuple[RuleRun, list[RuleAction]] | None:
    """One run and what it did."""
    async with uow() as u:
        run = await u.rules.run(user_id, run_id)
        if run is None:
            return None
        return run, await u.rules.actions_of_run(run_id)
