"""The plan of a launch: every campaign, ad group and ad it will create, named and keyed
before anything is created (pure; no I/O).

Per ad account one campaign; under it one ad group per ad-group spec of the template (one per
geo); under each ad group one ad per chosen creative. Each item's name ends with a tag derived
from the launch's key and its place in the plan (`Summer US ~k3f9a2xq`), so a resumed launch
can find an object an interrupted attempt made by listing the parent's children — TikTok
de-duplicates by `request_id` only for campaigns and ad groups (spec §4.2, §4.6), not for ads
(§4.9). Each item carries that `request_id` too, derived the same way.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from core.templates.model import Template
from core.templates.naming import NAME_MAX, NameValues, expand, trim
from core.templates.requests import request_id


@dataclass(frozen=True)
class PlanAccount:
    """An ad account as the plan needs it."""

    account_id: int
    name: str
    currency: str


@dataclass(frozen=True)
class PlanCreative:
    """A creative as the plan needs it."""

    creative_id: int
    name: str


@dataclass(frozen=True)
class Item:
    """One object to create; `parent_seq` points at the item it is created under."""

    seq: int
    level: str
    account_id: int
    parent_seq: int | None
    name: str
    request_id: str
    spec: dict[str, int] = field(default_factory=dict)  # adgroup / creative / text indexes


def tag(launch_key: str, seq: int) -> str:
    """The tag item `seq` of a launch ends its name with: `~` and 8 letters or digits (40 bits
    of a hash of the launch's random key and the item's place), the same on every attempt."""
    digest = hashlib.sha256(f"{launch_key}\x1f{seq}".encode()).digest()
    return "~" + base64.b32encode(digest[:5]).decode().lower()


def tagged(name: str, launch_key: str, seq: int) -> str:
    """The name as sent to TikTok: the user's pattern, cut to leave room, then the tag (names
    stay within spec §4.2 / §4.6 / §4.9's 512 characters)."""
    mark = tag(launch_key, seq)
    return f"{trim(name, NAME_MAX - len(mark) - 1)} {mark}"


def build(
    template: Template,
    accounts: list[PlanAccount],
    creatives: list[PlanCreative],
    launch_key: str,
    today: date,
) -> list[Item]:
    """Every object of the launch in creation order (parents before their children)."""
    items: list[Item] = []

    def add(
        level: str, account: PlanAccount, parent: int | None, name: str, spec: dict[str, int]
    ) -> int:
        seq = len(items)
        items.append(
            Item(
                seq,
                level,
                account.account_id,
                parent,
                tagged(name, launch_key, seq),
                request_id(launch_key, str(seq)),
                spec,
            )
        )
        return seq

    for a_n, account in enumerate(accounts, start=1):
        names = template.naming
        values = NameValues(today, account=account.name, n=a_n)
        campaign = add("campaign", account, None, expand(names.campaign, values), {})
        for g_n, group in enumerate(template.adgroups):
            values = NameValues(today, account=account.name, geo=group.geo, n=g_n + 1)
            adgroup = add(
                "adgroup", account, campaign, expand(names.adgroup, values), {"adgroup": g_n}
            )
            for c_n, creative in enumerate(creatives):
                values = NameValues(
                    today, account=account.name, geo=group.geo, creative=creative.name, n=c_n + 1
                )
                add(
                    "ad",
                    account,
                    adgroup,
                    expand(names.ad, values),
                    {"adgroup": g_n, "creative": creative.creative_id, "text": c_n},
                )
    return items


@dataclass(frozen=True)
class Summary:
    """What the user approves: counts per account and daily budget per currency."""

    per_account: dict[int, tuple[int, int, int]]  # account id → campaigns, ad groups, ads
    daily_budget: dict[str, Decimal]  # currency → the daily budgets it sets, summed
    # currency → the lifetime budgets it sets, summed (only currencies that have any)
    lifetime_budget: dict[str, Decimal] = field(default_factory=dict)


def summarize(template: Template, accounts: list[PlanAccount], items: list[Item]) -> Summary:
    """Counts per account and the daily budget the launch commits, per currency (budgets in
    different currencies are never added together)."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    index = {"campaign": 0, "adgroup": 1, "ad": 2}
    for item in items:
        counts[item.account_id][index[item.level]] += 1
    daily: dict[str, Decimal] = defaultdict(Decimal)
    lifetime: dict[str, Decimal] = defaultdict(Decimal)
    for account in accounts:
        daily[account.currency] += daily_budget(template)
        if total := lifetime_budget(template):
            lifetime[account.currency] += total
    return Summary(
        {k: (v[0], v[1], v[2]) for k, v in counts.items()}, dict(daily), dict(lifetime)
    )


def daily_budget(template: Template) -> Decimal:
    """The daily budget one account's campaign commits: its own daily budget when it has one
    (it caps its ad groups), else the sum of its ad groups' daily budgets."""
    campaign = template.campaign
    if (
        campaign.budget_mode in ("BUDGET_MODE_DAY", "BUDGET_MODE_DYNAMIC_DAILY_BUDGET")
        and campaign.budget is not None
    ):
        return campaign.budget
    return sum(
        (g.budget for g in template.adgroups if g.budget_mode == "BUDGET_MODE_DAY"), Decimal(0)
    )


def lifetime_budget(template: Template) -> Decimal:
    """The lifetime budget one account's campaign commits: its own when it has one (it caps
    its ad groups), else the sum of its ad groups' lifetime budgets (a daily budget of zero
    alone would hide them from the plan to approve)."""
    campaign = template.campaign
    if campaign.budget_mode == "BUDGET_MODE_TOTAL" and campaign.budget is not None:
        return campaign.budget
    return sum(
        (g.budget for g in template.adgroups if g.budget_mode == "BUDGET_MODE_TOTAL"), Decimal(0)
    )
