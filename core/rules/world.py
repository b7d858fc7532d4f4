"""The objects a batch of rules reads, loaded once per batch: their structure (where a budget
or bid lives, core.eligibility), their facts, and the hits made on them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from core.eligibility import Blocked, Shape, blocked, shape_of
from core.rules.acting import State, Target
from core.rules.evaluate import Facts, Reading, readings
from core.rules.exact import Candidate, Sums, Windows
from core.rules.model import Action, ActionKind, RuleSpec, Window, status_word
from core.rules.tracker import TrackerSums
from storage.repos.rule_reads import ObjectRow, ScopeAccount


class Hit(NamedTuple):
    """An object a rule matched, the facts it matched on, and its values as last synced."""

    # A named tuple, not a frozen dataclass: a batch makes one per match (thousands), and a
    # tuple is made in one step and is one object for the collector, not two.

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


def _budget(obj: ObjectRow) -> Decimal | None:
    if obj.budget_mode == "BUDGET_MODE_INFINITE" or not obj.budget:
        return None
    return obj.budget


class World:
    """The objects and sums a batch of rules reads, loaded once per batch."""

    def __init__(self) -> None:
        self.objects: dict[tuple[int, str], list[ObjectRow]] = defaultdict(list)
        self.by_id: dict[tuple[int, str, str], ObjectRow] = {}
        self.budgets: dict[tuple[int, str, str], Decimal | None] = {}
        self.bids: dict[tuple[int, str, str], Decimal | None] = {}
        # (account, level, object) → its sums per window (core.rules.exact: integers, money in
        # micros; Facts make their Totals from them when read).
        self.sums: dict[tuple[int, str, str], dict[Window, Sums]] = {}
        # (account, level, object) → the tracker's sums per window it has data for.
        self.tracker: dict[tuple[int, str, str], dict[Window, TrackerSums]] = {}
        self._facts: dict[tuple[int, str, str], Facts] = {}
        self._acting: dict[tuple[int, str, str], tuple[Target, State]] = {}
        self._candidates: dict[tuple[int, str, str, bool], list[Candidate]] = {}
        # (account, level, object) that "pause for today" holds off until midnight: a rule that
        # pauses for good looks at them too (loaded only for batches with such a rule).
        self.held: dict[tuple[int, str, str], datetime] = {}

    def candidates(
        self, account_id: int, level: str, status: str, held: bool = False
    ) -> list[Candidate]:
        """The objects of one account level with this operation status (and, with `held`, the
        ones paused for today), with their facts and sums (worked out once per batch: every
        rule of the level on the account reads them)."""
        key = (account_id, level, status, held)
        found = self._candidates.get(key)
        if found is None:
            sums, none = self.sums, {}
            found = self._candidates[key] = [
                (o, self.facts(o), sums.get((account_id, level, o.object_id), none))
                for o in self.objects.get((account_id, level), [])
                if o.operation_status == status or (held and self.is_held(o))
            ]
        return found

    def is_held(self, obj: ObjectRow) -> bool:
        """Whether "pause for today" holds the object off until its account's midnight."""
        return (obj.ad_account_id, obj.level, obj.object_id) in self.held

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
            sums = self.sums.get(key)
            found = self._facts[key] = Facts(
                obj.object_id,
                obj.name,
                self.budgets.get((obj.ad_account_id, obj.level, obj.object_id)),
                obj.created_time,
                {} if sums is None else Windows(sums),
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
        return _new_hit(Hit, (acting[0], obj.name, facts, acting[1], spec, now, triggers))


_new_hit = tuple.__new__  # Hit(...) without the keyword handling (the fields in order)
