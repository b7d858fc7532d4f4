"""The emulator's report catalogue: every row computes, derived counts add up like real ones."""

from __future__ import annotations

import random

from sandbox.tiktok.catalogue import BASE, CATALOGUE, Families, renderer
from sandbox.tiktok.delivery import NF


def all_families() -> Families:
    return Families(7, [f for m in CATALOGUE.values() for f in m.families])


def test_every_metric_renders_in_its_type() -> None:
    fam = all_families()
    rnd = random.Random(3)
    for zero in (True, False):
        base = [0] * NF if zero else [rnd.randrange(10**6) for _ in range(NF)]
        facts = base + fam.values("1790000000000001", 100, base)
        for m in CATALOGUE.values():
            if m.is_attribute:
                continue
            text = renderer(m, fam.index)(facts)
            if m.op == "dash":
                assert text == "-"
            elif m.type == "integer":
                assert text.isdigit(), (m.name, text)
            else:
                whole, _, frac = text.partition(".")
                assert whole.isdigit() and frac.isdigit(), (m.name, text)
                assert len(frac) == (4 if m.op == "cost4" else 3 if m.type == "money" else 2)


def test_derived_counts_grow_with_delivery_and_split_exactly() -> None:
    fam = all_families()
    rnd = random.Random(5)
    cum = [0] * NF
    previous = fam.values("1790000000000002", 100, cum)
    for _ in range(24):  # an ad-day, hour by hour: cumulative facts only grow
        cum = [c + rnd.randrange(0, 5000) for c in cum]
        now = fam.values("1790000000000002", 100, cum)
        assert all(b >= a for a, b in zip(previous, now, strict=True))  # no negative hours
        previous = now
    value = dict(zip(fam.derived, previous, strict=True))
    value["conversion"] = cum[BASE["conversion"]]
    for base in ("conversion", "app.purchase", "app.registration", "app.app_install"):
        assert value[f"cta.{base}"] + value[f"vta.{base}"] == value[base]
        assert value[f"evta.{base}"] <= value[f"vta.{base}"]


def test_rates_are_per_ad_and_deterministic() -> None:
    a, b = all_families(), all_families()
    cum = [100_000, 900_000, 20_000, 800, 300, 90_000, 700_000, 800]
    assert a.values("1", 100, cum) == b.values("1", 100, cum)
    assert a.values("1", 100, cum) != a.values("2", 100, cum)
