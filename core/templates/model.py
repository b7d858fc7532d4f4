"""A campaign template as data: campaign, ad groups (one per geo), the ad, and name patterns.

A template is what a media buyer sets once and launches many times: the launch multiplies it
by the chosen ad accounts (one campaign each), its ad groups (one per geo) and the chosen
creatives (one ad each). Per-account facts (ids, currency, pixel, identity id, media ids) are
not part of it; they are resolved at launch time.

Amounts are `Decimal` in the ad account's own currency (TikTok budgets and bids are always in
the account's currency, spec §3.1); they are never converted. Enum fields hold the API's own
values (spec §4.0), restricted to those a website traffic/conversion launch uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# ---- enums (spec §4.0), restricted to what a template can launch -----------------------------

# Objectives whose ads send people to a landing page. APP_PROMOTION (needs an app), the
# RF_*/TOPVIEW reservation buys and shop/catalog objectives are out of a template's reach.
OBJECTIVE_TYPES: tuple[str, ...] = ("WEB_CONVERSIONS", "TRAFFIC", "REACH", "VIDEO_VIEWS")
# Shopping ads from a catalog (issue 17): PRODUCT_SALES with campaign_product_source CATALOG
# (spec §4.2), only together with a `CatalogTarget` — a template reaches it through its JSON
# document for now, not the builder, whose objectives are OBJECTIVE_TYPES.
CATALOG_OBJECTIVES: tuple[str, ...] = ("PRODUCT_SALES",)
CAMPAIGN_BUDGET_MODES: tuple[str, ...] = (
    "BUDGET_MODE_INFINITE",
    "BUDGET_MODE_DAY",
    "BUDGET_MODE_TOTAL",
    "BUDGET_MODE_DYNAMIC_DAILY_BUDGET",
)
# An ad group always has its own budget (spec §4.6: budget_mode and budget are required);
# BUDGET_MODE_INFINITE there only exists under campaign budget optimisation, which templates
# do not use.
ADGROUP_BUDGET_MODES: tuple[str, ...] = ("BUDGET_MODE_DAY", "BUDGET_MODE_TOTAL")
PLACEMENT_TYPES: tuple[str, ...] = ("PLACEMENT_TYPE_AUTOMATIC", "PLACEMENT_TYPE_NORMAL")
# The deprecated PLACEMENT_TOPBUZZ / PLACEMENT_HELO only appear in old data (spec §4.0).
PLACEMENTS: tuple[str, ...] = (
    "PLACEMENT_TIKTOK",
    "PLACEMENT_PANGLE",
    "PLACEMENT_GLOBAL_APP_BUNDLE",
)
GENDERS: tuple[str, ...] = ("GENDER_UNLIMITED", "GENDER_MALE", "GENDER_FEMALE")
AGE_GROUPS: tuple[str, ...] = (
    "AGE_13_17",
    "AGE_18_24",
    "AGE_25_34",
    "AGE_35_44",
    "AGE_45_54",
    "AGE_55_100",
)
OPTIMIZATION_GOALS: tuple[str, ...] = (
    "CONVERT",
    "CLICK",
    "TRAFFIC_LANDING_PAGE_VIEW",
    "REACH",
    "VIDEO_VIEW",
)
BILLING_EVENTS: tuple[str, ...] = ("OCPM", "CPC", "CPM", "CPV")
BID_TYPES: tuple[str, ...] = ("BID_TYPE_NO_BID", "BID_TYPE_CUSTOM")
SCHEDULE_TYPES: tuple[str, ...] = ("SCHEDULE_FROM_NOW", "SCHEDULE_START_END")
PACINGS: tuple[str, ...] = ("PACING_MODE_SMOOTH", "PACING_MODE_FAST")
CALLS_TO_ACTION: tuple[str, ...] = (
    "LEARN_MORE",
    "SHOP_NOW",
    "SIGN_UP",
    "DOWNLOAD_NOW",
    "CONTACT_US",
    "APPLY_NOW",
    "BOOK_NOW",
    "ORDER_NOW",
    "PLAY_GAME",
    "WATCH_NOW",
    "READ_MORE",
    "VIEW_NOW",
    "GET_QUOTE",
    "SUBSCRIBE",
    "INSTALL_NOW",
    "CALL_NOW",
    "LISTEN_NOW",
    "INTERESTED",
    "GET_TICKETS_NOW",
    "GET_SHOWTIMES",
    "PREORDER_NOW",
    "VISIT_STORE",
    "EXPERIENCE_NOW",
    "SEND_MESSAGE",
    "VIEW_PROFILE",
    "WATCH_LIVE",
)

# Which optimisation goals an objective offers and which billing event each goal is paid by.
# The spec lists the enums but not these pairings; these are the pairings TikTok Ads Manager
# offers for website ads (an assumption, kept here so it is one place to correct).
GOALS_BY_OBJECTIVE: dict[str, tuple[str, ...]] = {
    "WEB_CONVERSIONS": ("CONVERT",),
    "TRAFFIC": ("CLICK", "TRAFFIC_LANDING_PAGE_VIEW"),
    "REACH": ("REACH",),
    "VIDEO_VIEWS": ("VIDEO_VIEW",),
    "PRODUCT_SALES": ("CONVERT", "CLICK"),
}
BILLING_BY_GOAL: dict[str, tuple[str, ...]] = {
    "CONVERT": ("OCPM",),
    "CLICK": ("CPC",),
    "TRAFFIC_LANDING_PAGE_VIEW": ("OCPM",),
    "REACH": ("CPM",),
    "VIDEO_VIEW": ("CPV",),
}
# Goals that optimise for a pixel event: the ad group needs pixel_id + optimization_event
# (spec §4.6).
PIXEL_GOALS: frozenset[str] = frozenset({"CONVERT"})

DEFAULT_CAMPAIGN_NAME = "{date} {account}"
DEFAULT_ADGROUP_NAME = "{geo} {date}"
DEFAULT_AD_NAME = "{creative} {n}"


@dataclass(frozen=True)
class Naming:
    """Name patterns with macros ({date}, {account}, {geo}, {creative}, {n}) per level."""

    campaign: str = DEFAULT_CAMPAIGN_NAME
    adgroup: str = DEFAULT_ADGROUP_NAME
    ad: str = DEFAULT_AD_NAME


@dataclass(frozen=True)
class CampaignSpec:
    """The campaign: objective and budget (spec §4.2)."""

    objective_type: str = "WEB_CONVERSIONS"
    budget_mode: str = "BUDGET_MODE_INFINITE"
    budget: Decimal | None = None  # required unless BUDGET_MODE_INFINITE


@dataclass(frozen=True)
class AudiencePicks:
    """One ad account's picked audiences for an ad group: TikTok ids of that account's own
    custom / lookalike audiences to include and to exclude."""

    advertiser_id: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdGroupSpec:
    """One ad group: a geo (location set) with its targeting, delivery, bid and budget (§4.6)."""

    geo: str  # the label shown to people and put into names by {geo}, e.g. "US" or "DACH"
    location_ids: tuple[str, ...]  # GeoNames-style ids, strings (spec §4.5)
    languages: tuple[str, ...] = ()  # language codes; empty = any
    gender: str = "GENDER_UNLIMITED"
    age_groups: tuple[str, ...] = ()  # empty = all ages
    placement_type: str = "PLACEMENT_TYPE_AUTOMATIC"
    placements: tuple[str, ...] = ()  # only with PLACEMENT_TYPE_NORMAL
    optimization_goal: str = "CONVERT"
    optimization_event: str | None = None  # pixel event, for PIXEL_GOALS (e.g. COMPLETE_PAYMENT)
    billing_event: str = "OCPM"
    bid_type: str = "BID_TYPE_NO_BID"
    bid: Decimal | None = None  # only with BID_TYPE_CUSTOM
    budget_mode: str = "BUDGET_MODE_DAY"
    budget: Decimal = Decimal(50)
    schedule_type: str = "SCHEDULE_FROM_NOW"  # starts at launch
    run_days: int | None = None  # with SCHEDULE_START_END: ends this many days after launch
    pacing: str = "PACING_MODE_SMOOTH"
    comments_disabled: bool = False
    # Custom / lookalike audiences to show the ads to, or keep them from (spec §4.6
    # audience_ids / excluded_audience_ids): TikTok ids of the launched ad account's own
    # audiences, so pre-flight checks each account has them (issue 17).
    audience_ids: tuple[str, ...] = ()
    excluded_audience_ids: tuple[str, ...] = ()
    # The same, picked per ad account (issue 17's picker): an audience id belongs to one ad
    # account, so each account the template launches into has its own include / exclude
    # lists. An account with picks uses only its own; the flat lists above (templates saved
    # before the picker) serve every account that has none.
    account_audiences: tuple[AudiencePicks, ...] = ()

    def picks_for(self, advertiser_id: str) -> AudiencePicks | None:
        """This ad account's own picks, if any."""
        return next((p for p in self.account_audiences if p.advertiser_id == advertiser_id),
                    None)

    def audiences_for(self, advertiser_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(included, excluded) audience ids for a launch into this ad account."""
        picks = self.picks_for(advertiser_id)
        if picks is not None:
            return picks.include, picks.exclude
        return self.audience_ids, self.excluded_audience_ids

    def audience_not_picked(self, advertiser_id: str) -> bool:
        """Whether audiences were picked for other ad accounts but none for this one (and no
        flat ids serve it): launching there would silently drop the targeting."""
        return (bool(self.account_audiences) and self.picks_for(advertiser_id) is None
                and not self.audience_ids and not self.excluded_audience_ids)


@dataclass(frozen=True)
class AdSpec:
    """The ad made for every creative: texts (rotated over creatives), CTA, URL, identity."""

    texts: tuple[str, ...]
    landing_url: str  # may carry TikTok URL macros (__CAMPAIGN_ID__, __AID__, __CID__ ...)
    identity_name: str  # display name of the account's custom identity (CUSTOMIZED_USER)
    call_to_action: str = "LEARN_MORE"

    def text_for(self, index: int) -> str:
        """The ad text for the index-th creative (0-based): texts take turns."""
        return self.texts[index % len(self.texts)]


@dataclass(frozen=True)
class CatalogTarget:
    """The catalog product set a shopping-ads template advertises: ids of a Business Center's
    catalog (catalogs are the Business Center's, spec §9), so only its ad accounts can use it."""

    bc_id: str
    catalog_id: str
    product_set_id: str


@dataclass(frozen=True)
class Template:
    """A campaign template: what one bulk launch creates in each chosen ad account."""

    name: str
    campaign: CampaignSpec
    adgroups: tuple[AdGroupSpec, ...]
    ad: AdSpec
    naming: Naming = field(default_factory=Naming)
    catalog: CatalogTarget | None = None  # with a CATALOG_OBJECTIVES objective only
