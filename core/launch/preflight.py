"""Pre-flight: everything that would stop a launch, found before anything is created.

The template is checked against each ad account (its currency's minimums and cents — a template
has no currency of its own), and each account is read from TikTok for what the launch needs
there: working access, the identity the ads are published under and, for conversion goals, a
pixel. Creatives must be of a kind TikTok takes, within its size limits, and still
downloadable. Where TikTok's minimum budget in an account's currency is not known, the plan
carries a warning instead of a refusal (TikTok's own answer then tells).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from core.templates.model import Template
from core.templates.validate import Problem as TemplateProblem
from core.templates.validate import check_for_launch, launch_warnings, needs_pixel, validate
from core.tiktok import ScopeMissingError, TikTokClient, TikTokError, TokenInvalidError
from storage.models import AdAccount, Creative

# spec §5.1 / §5.2 ([L]): a video up to 500 MB, an image under 50 MB.
MAX_BYTES = {"video": 500 * 1024 * 1024, "image": 50 * 1024 * 1024}


@dataclass(frozen=True)
class Issue:
    """One problem with how to fix it: `code` is a template Problem code or one of this
    module's (no_access, identity_missing, pixel_missing, pixel_scope_missing,
    tiktok_unreachable,
    creative_kind, creative_too_large, creative_unavailable); or a warning that does not stop
    the launch (`validate.WARNING_CODES`)."""

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


async def _account(
    client: TikTokClient, template: Template, target: Target, tracker_connected: bool
) -> tuple[list[Issue], AccountFacts | None]:
    """The checks of one account; its facts when nothing is wrong."""
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
        pixels = (
            await client.get_pixels(target.token, account.advertiser_id)
            if needs_pixel(template)
            else []
        )
    except TokenInvalidError:
        return [*issues, Issue("no_access", account.id, params={"account": account.name})], None
    except ScopeMissingError:  # the consent withheld pixels (issue 17): say how to grant it
        return [*issues, Issue("pixel_scope_missing", account.id,
                               params={"account": account.name})], None
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
    if needs_pixel(template) and not pixels:
        issues.append(Issue("pixel_missing", account.id, params={"account": account.name}))
    if issues or identity is None:
        return issues, None
    return [], AccountFacts(identity.identity_id, pixels[0] if pixels else None)


async def run(
    client: TikTokClient,
    template: Template,
    targets: list[Target],
    creatives: list[Creative],
    *,
    tracker_connected: bool = False,
) -> Checked:
    """Every issue across the template, the accounts and the creatives, the warnings of each
    account, and the facts of each account (complete only when there are no issues)."""
    # Cents depend on the currency: check_for_launch judges them per account.
    issues = _from_template([p for p in validate(template) if p.code != "too_many_decimals"], None)
    issues += check_creatives(creatives)
    found = await asyncio.gather(
        *(_account(client, template, t, tracker_connected) for t in targets)
    )
    facts = {}
    warnings: list[Issue] = []
    for target, (account_issues, fact) in zip(targets, found, strict=True):
        issues += account_issues
        warnings += _from_template(
            launch_warnings(template, currency=target.account.currency), target.account.id
        )
        if fact is not None:
            facts[target.account.id] = fact
    return Checked(issues, warnings, facts)
