"""AUDIENCE reports' breakdowns (spec §7.1): each ad's delivery split across the age groups,
genders and platforms of its audience.

The split is exact: a breakdown's rows of one ad and time add up, fact by fact, to the BASIC
row of the same ad and time (so at every level and in every total). Each ad has weights per
value, fixed by the world's seed; an ad group that targets some age groups, one gender or some
operating systems delivers only to those. Counts stay nested as the delivery model makes them
(delivery.facts_from_spend): clicks within impressions, conversions within clicks, payments
within conversions, reach within impressions, so no row has more clicks than impressions.

What the breakdown's values are called is not in the spec [L]/[U]: ``audience_values`` of the
emulator's config (config.py) holds them. The other AUDIENCE dimensions the spec names from
memory (``province_id``, ``language``, ``ac``, ``placement``, ``interest_category`` [L]) are
refused as not supported, rather than answered with made-up values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import product

from sandbox.tiktok.delivery import FACT_FIELDS, NF, ZERO_DECIMAL
from sandbox.tiktok.model import Ad, Advertiser, World

SPLIT_DIMS = ("age", "gender", "platform")
UNSUPPORTED_DIMS = ("province_id", "language", "ac", "placement", "interest_category")
# Defaults of config.audience_values: the age groups are the targeting's own names (spec §4.6)
# [L]; the genders and platforms as reports are said to name them [U].
AUDIENCE_VALUES: dict[str, list[str]] = {
    "age": ["AGE_13_17", "AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_100"],
    "gender": ["MALE", "FEMALE", "NONE"],
    "platform": ["ANDROID", "IOS", "PC"],
}
# The ad group's targeting value -> the report values it delivers to.
_GENDER_TARGETS = {"GENDER_MALE": "MALE", "GENDER_FEMALE": "FEMALE"}

_F = {name: i for i, name in enumerate(FACT_FIELDS)}
# Each count split within its parent's split (delivery.facts_from_spend's floors).
_NESTED = (
    ("clicks", "impressions"),
    ("conversion", "clicks"),
    ("complete_payment", "conversion"),
    ("reach", "impressions"),
)

Bucket = tuple[str, ...]


class Breakdown:
    """The split of one report's rows by its audience dimensions (in the report's order)."""

    def __init__(self, world: World, dims: Sequence[str], values: dict[str, list[str]]) -> None:
        """``dims``: the report's audience dimensions; ``values``: config.audience_values."""
        self.world = world
        self.dims = list(dims)
        self.values = {d: list(values.get(d) or AUDIENCE_VALUES[d]) for d in self.dims}
        self._ads: dict[str, tuple[list[Bucket], list[int], int]] = {}

    def _allowed(self, dim: str, ad: Ad) -> list[str]:
        """The values this ad delivers to: its ad group's targeting, else all."""
        extra = self.world.adgroups[ad.adgroup_id].extra
        every = self.values[dim]
        if dim == "age":
            chosen = [v for v in every if v in (extra.get("age_groups") or ())]
        elif dim == "gender":
            chosen = [v for v in every if v == _GENDER_TARGETS.get(extra.get("gender") or "")]
        else:
            chosen = [v for v in every if v in (extra.get("operating_systems") or ())]
        return chosen or every

    def _weight(self, ad: Ad, dim: str, value: str) -> int:
        """A fixed weight 1..100 of one value for one ad."""
        digest = hashlib.blake2b(
            f"{self.world.seed}|{ad.ad_id}|{dim}|{value}".encode(), digest_size=4
        ).digest()
        return 1 + int.from_bytes(digest, "big") % 100

    def buckets(self, ad: Ad) -> tuple[list[Bucket], list[int], int]:
        """The ad's buckets (one value per dimension), their weights and the weights' sum."""
        hit = self._ads.get(ad.ad_id)
        if hit is None:
            per_dim = [
                [(v, self._weight(ad, d, v)) for v in self._allowed(d, ad)] for d in self.dims
            ]
            buckets, weights = [], []
            for combo in product(*per_dim):
                buckets.append(tuple(v for v, _ in combo))
                w = 1
                for _, x in combo:
                    w *= x
                weights.append(w)
            hit = self._ads[ad.ad_id] = (buckets, weights, sum(weights))
        return hit

    def split(
        self, ad: Ad, adv: Advertiser, facts: Sequence[int]
    ) -> list[tuple[Bucket, list[int]]]:
        """One row's facts (base, then derived) as the ad's buckets' facts, summing exactly."""
        buckets, weights, total = self.buckets(ad)
        n = len(buckets)
        cols: list[list[int]] = [[] for _ in facts]
        # Spend in whole units of the currency where it has no minor ones (as delivered).
        unit = 100 if adv.currency in ZERO_DECIMAL else 1
        spend = facts[_F["spend"]]
        cols[_F["spend"]] = [s * unit for s in _share(spend // unit, weights, total)]
        cols[_F["spend"]][0] += spend % unit
        imp = _F["impressions"]
        cols[imp] = _share(facts[imp], weights, total)
        for child, parent in _NESTED:
            cols[_F[child]] = _share(facts[_F[child]], cols[_F[parent]])
        pay, value = _F["complete_payment"], _F["purchase_value"]
        cols[value] = _share(facts[value], cols[pay] if facts[pay] else weights)
        result = _F["result"]  # the goal's count: whichever it is, or within impressions
        same = next((c for c in ("clicks", "conversion", "reach")
                     if facts[_F[c]] == facts[result]), None)
        cols[result] = (list(cols[_F[same]]) if same
                        else _share(facts[result], cols[imp]))
        for i in range(NF, len(facts)):  # derived families: by the weights
            cols[i] = _share(facts[i], weights, total)
        return [(buckets[b], [col[b] for col in cols]) for b in range(n)]


def _share(value: int, parts: Sequence[int], total: int = 0) -> list[int]:
    """``value`` split in proportion to ``parts`` (summing to ``total``, else summed here) by
    largest remainders, ties to the first. When ``parts`` are a parent count's split and
    ``value`` does not exceed the parent, no share exceeds its part."""
    whole = total or sum(parts)
    if not whole:
        return [value] + [0] * (len(parts) - 1)
    shares = [value * p // whole for p in parts]
    left = value - sum(shares)
    if left:
        order = sorted(range(len(parts)), key=lambda i: (-(value * parts[i] % whole), i))
        for i in order[:left]:
            shares[i] += 1
    return shares
