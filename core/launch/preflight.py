"""Pre-flight: everything that would stop a launch, found before anything is created.

The template is checked against each ad account (its currency's minimums and cents — a template
has no currency of its own), and each account is read from TikTok for what the launch needs
there: working access, the identity the ads are published under and, for conversion goals, a
pixel whose optimisation event is set up and fired in the last 7 days (event stats; a launch
optimising for an event the pixel never reports would spend without learning). Creatives must
be of a kind TikTok takes, within its size limits, and still
downloadable. Where TikTok's minimum budget in an account's currency is not known, the plan
carries a warning instead of a refusal (TikTok's own answer then tells).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.audiences import TARGETING_MIN_SIZE, audiences_by_id
from core.templates.model import PIXEL_GOALS, Template
from core.templates.validate import Problem as TemplateProblem
from core.templates.validate import check_for_launch, launch_warnings, needs_pixel, validate
from core.tiktok import ScopeMissingError, TikTokClient, TikTokError, TokenInvalidError
from core.tiktok import catalogs as catalog_api
from core.tiktok.pixels import Pixel, event_counts, list_pixels
from storage.models import AdAccount, Creative

# spec §5.1 / §5.2 ([L]): a video up to 500 MB, an image under 50 MB.
MAX_BYTES = {"video": 500 * 1024 * 1024, "image": 50 * 1024 * 1024}
# "Fired recently": at least once in the account's last 7 days, today included (issue 17).
RECENT_DAYS = 7


@dataclass(frozen=True)
class Issue:
    """One problem with how to fix it: `code` is a template Problem code or one of this
    module's (no_access, identity_missing, pixel_missing, pixel_scope_missing,
    pixel_event_missing, pixel_event_silent, audiences_off, audience_missing,
    audience_scope_missing, audience_not_picked, catalogs_off, catalog_missing,
    catalog_scope_missing, product_set_missing, product_set_unapproved, tiktok_unreachable,
    creative_kind, creative_too_large, creative_unavailable); or a warning that does not stop
    the launch (`validate.WARNING_CODES`; audience_small: a picked audience under
    TARGETING_MIN_SIZE people; audience_computing: one TikTok is still computing)."""

    code: str
    account_id: int | None = None
    creative_id: int | None = None
    path: str = ""
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountFacts:
    """What the launch uses in one account, read during pre-flight."""

    identity_id: str
    pixel_id: str | None


@dataclass(frozen=True)
class Checked:
    """What pre-flight found: problems (nothing may start), warnings (shown with the plan) and
    each account's facts (complete only when there are no problems)."""

    issues: list[Issue]
    warnings: list[Issue]
    facts: dict[int, AccountFacts]


@dataclass(frozen=True)
class Target:
    """An ad account with the token to reach it (None: no usable access stored)."""

    account: AdAccount
    token: str | None


def _from_template(problems: list[TemplateProblem], account_id: int | None) -> list[Issue]:
    return [Issue(p.code, account_id, None, p.path, dict(p.params)) for p in problems]


def check_creatives(creatives: list[Creative]) -> list[Issue]:
    """Creatives TikTok would refuse: wrong kind, too big, or no way to fetch them again."""
    issues = []
    for c in creatives:
        if c.kind not in MAX_BYTES:
            issues.append(Issue("creative_kind", creative_id=c.id, params={"name": c.name}))
        elif c.size > MAX_BYTES[c.kind]:
            issues.append(
                Issue(
                    "creative_too_large",
                    creative_id=c.id,
                    params={"name": c.name, "mb": MAX_BYTES[c.kind] // 2**20},
                )
            )
        elif not c.tg_file_id and not c.source_url:
            issues.append(Issue("creative_unavailable", creative_id=c.id, params={"name": c.name}))
    return issues


def template_audiences(template: Template, advertiser_id: str | None = None) -> list[str]:
    """Every audience id the template's ad groups include or exclude, in order, no repeats:
    for one ad account (its own picks, else the flat lists), or, without one, every id named
    anywhere (all accounts' picks too)."""
    out: dict[str, None] = {}
    for g in template.adgroups:
        if advertiser_id is not None:
            included, excluded = g.audiences_for(advertiser_id)
            out.update(dict.fromkeys((*included, *excluded)))
            continue
        out.update(dict.fromkeys((*g.audience_ids, *g.excluded_audience_ids)))
        for picks in g.account_audiences:
            out.update(dict.fromkeys((*picks.include, *picks.exclude)))
    return list(out)


def asks_audiences(template: Template) -> bool:
    """Whether any ad group targets audiences (flat ids or any account's picks)."""
    return bool(template_audiences(template))


def not_picked(template: Template, account: AdAccount) -> list[Issue]:
    """An ad group that picked audiences for other ad accounts but none for this one: the
    launch would drop its targeting there, so it stops and names the account."""
    groups = [g for g in template.adgroups if g.audience_not_picked(account.advertiser_id)]
    if not groups:
        return []
    return [Issue("audience_not_picked", account.id,
                  params={"account": account.name, "geo": ", ".join(g.geo for g in groups)})]


async def _account(
    client: TikTokClient, template: Template, target: Target, tracker_connected: bool,
    now: datetime | None = None, audiences_on: bool = False, catalogs_on: bool = False,
    warnings: list[Issue] | None = None,
) -> tuple[list[Issue], AccountFacts | None]:
    """The checks of one account; its facts when nothing is wrong (`warnings` hears what only
    warns)."""
    account = target.account
    issues = _from_template(
        check_for_launch(template, currency=account.currency, tracker_connected=tracker_connected),
        account.id,
    )
    if target.token is None:
        return [*issues, Issue("no_access", account.id, params={"account": account.name})], None
    try:
        identities = await client.get_identities(
            target.token, account.advertiser_id, identity_type="CUSTOMIZED_USER"
        )
        pixels: list[Pixel] = []
        fired: dict[tuple[str, str], int] = {}
        if needs_pixel(template):
            pixels = await list_pixels(client, target.token, account.advertiser_id)
            today = (now or datetime.now(UTC)).astimezone(
                ZoneInfo(account.time_zone or "UTC")).date()
            fired = await event_counts(client, target.token, account.advertiser_id, pixels,
                                       today - timedelta(days=RECENT_DAYS - 1), today)
        # Audiences are the account's own (issue 17): each one the template names must be
        # there. With the audiences switch off nothing is asked (no dmp/ call) — the launch
        # stops and says where to turn it on.
        # Each account launches with its own picks; an ad group that picked for other accounts
        # but not this one stops the launch (audience_not_picked). An audience smaller than
        # TARGETING_MIN_SIZE is only a warning.
        wanted_audiences = template_audiences(template, account.advertiser_id)
        missing: list[str] = []
        small: list[str] = []
        computing: list[str] = []
        if asks_audiences(template) and not audiences_on:
            issues.append(Issue("audiences_off", account.id, params={"account": account.name}))
        elif wanted_audiences:
            have = await audiences_by_id(client, target.token, account.advertiser_id,
                                         wanted_audiences)
            missing = [i for i in wanted_audiences if i not in have]
            # A computing audience has no size yet (cover_num 0): it is not "small".
            computing = [have[i].name or i for i in wanted_audiences
                         if i in have and not have[i].ready]
            small = [have[i].name or i for i in wanted_audiences
                     if i in have and have[i].ready and have[i].size < TARGETING_MIN_SIZE]
        if audiences_on:
            issues += not_picked(template, account)
    except TokenInvalidError:
        return [*issues, Issue("no_access", account.id, params={"account": account.name})], None
    except ScopeMissingError as exc:  # the consent withheld it (issue 17): say how to grant it
        code = "audience_scope_missing" if exc.group == "audiences" else "pixel_scope_missing"
        return [*issues, Issue(code, account.id, params={"account": account.name})], None
    except TikTokError as exc:
        detail = str(getattr(exc, "message", "") or exc)[:200]
        return [
            *issues,
            Issue(
                "tiktok_unreachable", account.id, params={"account": account.name, "error": detail}
            ),
        ], None
    wanted = template.ad.identity_name.strip().casefold()
    identity = next(
        (i for i in identities if (i.display_name or "").strip().casefold() == wanted), None
    )
    if identity is None:
        issues.append(
            Issue(
                "identity_missing",
                account.id,
                path="ad.identity_name",
                params={"account": account.name, "identity": template.ad.identity_name},
            )
        )
    if missing:
        issues.append(Issue("audience_missing", account.id,
                            params={"account": account.name, "ids": ", ".join(missing[:10])}))
    if small and warnings is not None:
        warnings.append(Issue("audience_small", account.id,
                              params={"account": account.name, "names": ", ".join(small[:10]),
                                      "min": str(TARGETING_MIN_SIZE)}))
    if computing and warnings is not None:
        warnings.append(Issue("audience_computing", account.id,
                              params={"account": account.name,
                                      "names": ", ".join(computing[:10])}))
    pixel_id = None
    if needs_pixel(template) and not pixels:
        issues.append(Issue("pixel_missing", account.id, params={"account": account.name}))
    elif needs_pixel(template):
        pixel_id, problem = choose_pixel(pixels, fired, pixel_events(template))
        if problem is not None:
            issues.append(Issue(problem[0], account.id,
                                params={"account": account.name, **problem[1]}))
    if template.catalog is not None:
        issues += await _catalog(client, template, target, catalogs_on)
    if issues or identity is None:
        return issues, None
    return [], AccountFacts(identity.identity_id, pixel_id)


async def _catalog(client: TikTokClient, template: Template, target: Target,
                   catalogs_on: bool) -> list[Issue]:
    """A shopping-ads template's product set, as one account would use it: the user's catalogs
    switch on (else nothing is asked), the catalog in the account's Business Center, the set in
    the catalog, and at least one approved product in the set (issue 17)."""
    cat, account = template.catalog, target.account
    assert cat is not None and target.token is not None
    params = {"account": account.name, "catalog": cat.catalog_id, "set": cat.product_set_id}
    if not catalogs_on:
        return [Issue("catalogs_off", account.id, path="catalog", params=params)]
    if account.bc_id and account.bc_id != cat.bc_id:
        return [Issue("catalog_missing", account.id, path="catalog.catalog_id", params=params)]
    try:
        found = await catalog_api.list_catalogs(client, target.token, cat.bc_id, cat.catalog_id)
        if not any(c.catalog_id == cat.catalog_id for c in found):
            return [Issue("catalog_missing", account.id, path="catalog.catalog_id",
                          params=params)]
        sets = await catalog_api.product_sets(client, target.token, cat.bc_id, cat.catalog_id)
        if not any(s.product_set_id == cat.product_set_id for s in sets):
            return [Issue("product_set_missing", account.id, path="catalog.product_set_id",
                          params=params)]
        if not await catalog_api.approved_in_set(client, target.token, cat.bc_id,
                                                 cat.catalog_id, cat.product_set_id):
            return [Issue("product_set_unapproved", account.id, path="catalog.product_set_id",
                          params=params)]
    except ScopeMissingError:
        return [Issue("catalog_scope_missing", account.id, params=params)]
    except TokenInvalidError:
        return [Issue("no_access", account.id, params={"account": account.name})]
    except TikTokError as exc:
        if getattr(exc, "code", None) == 40001:  # a Business Center the login is not in
            return [Issue("catalog_missing", account.id, path="catalog.catalog_id",
                          params=params)]
        detail = str(getattr(exc, "message", "") or exc)[:200]
        return [Issue("tiktok_unreachable", account.id,
                      params={"account": account.name, "error": detail})]
    return []


def pixel_events(template: Template) -> list[str]:
    """The pixel events the template's ad groups optimise for, in order, without repeats."""
    out: list[str] = []
    for g in template.adgroups:
        ev = g.optimization_event
        if g.optimization_goal in PIXEL_GOALS and ev and ev not in out:
            out.append(ev)
    return out


def choose_pixel(pixels: list[Pixel], fired: dict[tuple[str, str], int], events: list[str]
                 ) -> tuple[str | None, tuple[str, dict[str, str]] | None]:
    """The first pixel (TikTok's order, oldest first) that has every event set up and saw each
    fire recently; else why none will do: an event no pixel has (pixel_event_missing), or one
    set up but silent for RECENT_DAYS days on every pixel that has it (pixel_event_silent)."""
    if not events:
        return pixels[0].pixel_id, None
    for p in pixels:
        kinds = {e.kind for e in p.events}
        if all(ev in kinds and fired.get((p.pixel_id, ev), 0) > 0 for ev in events):
            return p.pixel_id, None
    for ev in events:
        having = [p for p in pixels if ev in {e.kind for e in p.events}]
        if not having:
            return None, ("pixel_event_missing", {"event": ev})
        if all(fired.get((p.pixel_id, ev), 0) == 0 for p in having):
            names = ", ".join(p.name or p.pixel_id for p in having)
            return None, ("pixel_event_silent",
                          {"event": ev, "pixel": names, "days": str(RECENT_DAYS)})
    # Each event fires somewhere, but no single pixel has them all.
    return None, ("pixel_event_missing", {"event": ", ".join(events)})


async def run(
    client: TikTokClient,
    template: Template,
    targets: list[Target],
    creatives: list[Creative],
    *,
    tracker_connected: bool = False,
    now: datetime | None = None,
    audiences_on: bool = False,
    catalogs_on: bool = False,
) -> Checked:
    """Every issue across the template, the accounts and the creatives, the warnings of each
    account, and the facts of each account (complete only when there are no issues)."""
    # Cents depend on the currency: check_for_launch judges them per account.
    issues = _from_template([p for p in validate(template) if p.code != "too_many_decimals"], None)
    issues += check_creatives(creatives)
    heard: list[list[Issue]] = [[] for _ in targets]
    found = await asyncio.gather(
        *(_account(client, template, t, tracker_connected, now, audiences_on, catalogs_on, w)
          for t, w in zip(targets, heard, strict=True))
    )
    facts = {}
    warnings: list[Issue] = []
    for target, (account_issues, fact), said in zip(targets, found, heard, strict=True):
        issues += account_issues
        warnings += _from_template(
            launch_warnings(template, currency=target.account.currency), target.account.id
        )
        warnings += said
        if fact is not None:
            facts[target.account.id] = fact
    return Checked(issues, warnings, facts)
