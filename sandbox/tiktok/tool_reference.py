"""Reference data behind the emulator's ``tool/*`` endpoints (sandbox/tiktok/tools.py): the
locations, languages, interest and action categories, carriers, device models and interest
keywords an ad group may target. Small but real where the fact is public, and overridable per
emulator through ``EmulatorConfig.tool_reference`` (set name -> list of rows in the shape below)
where it is not.

What is real and what is a guess:

* Locations: TikTok's ``location_id`` values are GeoNames ids (spec §4.5: ``"location_ids":
  [6252001]`` is the United States) [L for provinces and cities, C for countries]. Every id below
  is the GeoNames id of that place. The countries include every market of the emulator's
  fixtures (sandbox/tiktok/fixtures.py ``location_id``), so the ids its ad groups carry are listed,
  and every country TTPulse offers as a button (core/templates/draft.py ``COMMON_GEOS``).
  ``region_code`` of a country is its ISO 3166-1 alpha-2 code (TikTok's example is "DE");
  for a province or city TikTok's docs show none: the emulator gives the ISO 3166-2 code of the
  province [U]. ``area_type`` is ADMIN for all [U], ``support_below_18`` true for all [U].
* Languages: ISO 639-1 codes with their English names (the ``code`` is what ``languages`` of
  adgroup/create takes) [L: TikTok's full list is longer].
* Interest and action categories, device models, carrier ids and interest keyword ids: the
  names are TikTok Ads Manager's (top-level interest categories) or plain market facts
  (carriers' names and MCC+MNC "HNI" ids, device brands and models), but the ids TikTok gives
  them are not public [U]: the ones below are the emulator's own.
"""

from __future__ import annotations

from typing import Any

ALL_SPECIAL = ["HOUSING", "EMPLOYMENT", "CREDIT"]

# (location_id, name, level, region_code, parent_id); parent "0" = none (TikTok's convention).
_PLACES: list[tuple[str, str, str, str, str]] = [
    ("6252001", "United States", "COUNTRY", "US", "0"),
    ("5332921", "California", "PROVINCE", "US-CA", "6252001"),
    ("5368361", "Los Angeles", "CITY", "US-CA", "5332921"),
    ("5391959", "San Francisco", "CITY", "US-CA", "5332921"),
    ("4736286", "Texas", "PROVINCE", "US-TX", "6252001"),
    ("4699066", "Houston", "CITY", "US-TX", "4736286"),
    ("5128638", "New York", "PROVINCE", "US-NY", "6252001"),
    ("5128581", "New York City", "CITY", "US-NY", "5128638"),
    ("6251999", "Canada", "COUNTRY", "CA", "0"),
    ("2921044", "Germany", "COUNTRY", "DE", "0"),
    ("2951839", "Bavaria", "PROVINCE", "DE-BY", "2921044"),
    ("2867714", "Munich", "CITY", "DE-BY", "2951839"),
    ("2950157", "Berlin", "PROVINCE", "DE-BE", "2921044"),
    ("2950159", "Berlin", "CITY", "DE-BE", "2950157"),
    ("3017382", "France", "COUNTRY", "FR", "0"),
    ("2510769", "Spain", "COUNTRY", "ES", "0"),
    ("3175395", "Italy", "COUNTRY", "IT", "0"),
    ("1861060", "Japan", "COUNTRY", "JP", "0"),
    ("1850144", "Tokyo", "PROVINCE", "JP-13", "1861060"),
    ("1850147", "Tokyo", "CITY", "JP-13", "1850144"),
    ("1853904", "Osaka", "PROVINCE", "JP-27", "1861060"),
    ("1853909", "Osaka", "CITY", "JP-27", "1853904"),
    ("2635167", "United Kingdom", "COUNTRY", "GB", "0"),
    ("6269131", "England", "PROVINCE", "GB-ENG", "2635167"),
    ("2643743", "London", "CITY", "GB-ENG", "6269131"),
    ("2638360", "Scotland", "PROVINCE", "GB-SCT", "2635167"),
    ("3469034", "Brazil", "COUNTRY", "BR", "0"),
    ("3448433", "Sao Paulo", "PROVINCE", "BR-SP", "3469034"),
    ("3448439", "Sao Paulo", "CITY", "BR-SP", "3448433"),
    ("3996063", "Mexico", "COUNTRY", "MX", "0"),
    ("3527646", "Mexico City", "PROVINCE", "MX-CMX", "3996063"),
    ("3530597", "Mexico City", "CITY", "MX-CMX", "3527646"),
    ("1643084", "Indonesia", "COUNTRY", "ID", "0"),
    ("1642907", "Jakarta", "PROVINCE", "ID-JK", "1643084"),
    ("1642911", "Jakarta", "CITY", "ID-JK", "1642907"),
    ("298795", "Turkey", "COUNTRY", "TR", "0"),
    ("745042", "Istanbul", "PROVINCE", "TR-34", "298795"),
    ("745044", "Istanbul", "CITY", "TR-34", "745042"),
    ("2077456", "Australia", "COUNTRY", "AU", "0"),
    ("2155400", "New South Wales", "PROVINCE", "AU-NSW", "2077456"),
    ("2147714", "Sydney", "CITY", "AU-NSW", "2155400"),
]
REGIONS: list[dict[str, Any]] = [
    {
        "location_id": loc,
        "name": name,
        "level": level,
        "region_code": code,
        "parent_id": parent,
        "area_type": "ADMIN",
        "support_below_18": True,
    }
    for loc, name, level, code, parent in _PLACES
]

LANGUAGES: list[dict[str, Any]] = [
    {"code": code, "name": name}
    for code, name in (
        ("ar", "Arabic"),
        ("de", "German"),
        ("en", "English"),
        ("es", "Spanish"),
        ("fr", "French"),
        ("id", "Indonesian"),
        ("it", "Italian"),
        ("ja", "Japanese"),
        ("ko", "Korean"),
        ("pt", "Portuguese"),
        ("ru", "Russian"),
        ("th", "Thai"),
        ("tr", "Turkish"),
        ("vi", "Vietnamese"),
    )
]

# Interest categories (version 2): (id, name, parent id or "", special industries, placements,
# recommended). Placements [] = every placement (TikTok: "an empty list means no limit").
_INTERESTS: list[tuple[str, str, str, list[str], list[str], bool]] = [
    ("101", "Apparel & Accessories", "", ALL_SPECIAL, [], True),
    ("10101", "Women's Clothing", "101", ALL_SPECIAL, [], False),
    ("10102", "Shoes", "101", ALL_SPECIAL, [], False),
    ("102", "Beauty & Personal Care", "", ALL_SPECIAL, [], True),
    ("10201", "Makeup", "102", ALL_SPECIAL, [], False),
    ("10202", "Skincare", "102", ALL_SPECIAL, [], False),
    ("103", "Food & Beverage", "", ALL_SPECIAL, [], True),
    ("10301", "Coffee & Tea", "103", ALL_SPECIAL, [], False),
    ("104", "Games", "", ALL_SPECIAL, [], False),
    ("10401", "Mobile Games", "104", ALL_SPECIAL, ["PLACEMENT_TIKTOK", "PLACEMENT_PANGLE"], False),
    ("105", "Sports & Outdoors", "", ALL_SPECIAL, [], True),
    ("10501", "Fitness", "105", ALL_SPECIAL, [], False),
    ("106", "Pets", "", ALL_SPECIAL, [], False),
    ("10601", "Pet Food", "106", ALL_SPECIAL, [], False),
    ("107", "Home Improvement", "", ALL_SPECIAL, [], False),
    ("10701", "Home Decor", "107", ALL_SPECIAL, [], False),
    ("108", "Tech & Electronics", "", ALL_SPECIAL, [], False),
    ("109", "Financial Services", "", ["EMPLOYMENT"], [], False),
    ("110", "Travel", "", ALL_SPECIAL, ["PLACEMENT_TIKTOK"], False),
    ("111", "Baby, Kids & Maternity", "", [], [], False),
]


def _tree(rows: list[tuple[str, str, str]]) -> dict[str, tuple[int, list[str]]]:
    """Level (1 = top) and child ids of each (id, name, parent) row."""
    children: dict[str, list[str]] = {i: [] for i, _, _ in rows}
    for i, _, parent in rows:
        if parent:
            children[parent].append(i)
    parents = {i: parent for i, _, parent in rows}

    def level(i: str) -> int:
        return 1 if not parents[i] else 1 + level(parents[i])

    return {i: (level(i), children[i]) for i, _, _ in rows}


_ITREE = _tree([(i, n, p) for i, n, p, *_ in _INTERESTS])
INTEREST_CATEGORIES: list[dict[str, Any]] = [
    {
        "interest_category_id": i,
        "interest_category_name": name,
        "level": _ITREE[i][0],
        "sub_category_ids": _ITREE[i][1],
        "special_industries": list(special),
        "placements": list(placements),
        "recommended": recommended,  # emulator-only: dropped from every answer
    }
    for i, name, _parent, special, placements, recommended in _INTERESTS
]

# Action categories: (id, name, parent id or "", action_scene, description, recommended).
_ACTIONS: list[tuple[str, str, str, str, str, bool]] = [
    ("201", "Beauty & Personal Care", "", "VIDEO_RELATED",
     "Users who interacted with beauty and personal care videos", True),
    ("20101", "Skincare", "201", "VIDEO_RELATED",
     "Users who interacted with skincare videos", False),
    ("202", "Sports & Outdoors", "", "VIDEO_RELATED",
     "Users who interacted with sports and outdoors videos", True),
    ("203", "Food & Beverage", "", "VIDEO_RELATED",
     "Users who interacted with food and beverage videos", False),
    ("204", "Games", "", "VIDEO_RELATED", "Users who interacted with game videos", False),
    ("251", "Beauty", "", "CREATOR_RELATED",
     "Users who followed or viewed beauty creators", True),
    ("252", "Fitness", "", "CREATOR_RELATED",
     "Users who followed or viewed fitness creators", False),
    ("253", "Pets", "", "CREATOR_RELATED", "Users who followed or viewed pet creators", False),
]
_ATREE = _tree([(i, n, p) for i, n, p, *_ in _ACTIONS])
ACTION_CATEGORIES: list[dict[str, Any]] = [
    {
        "action_category_id": i,
        "name": name,
        "description": description,
        "level": _ATREE[i][0],
        "sub_category_ids": _ATREE[i][1],
        "special_industries": list(ALL_SPECIAL),
        "action_scene": scene,
        "recommended": recommended,  # emulator-only: dropped from every answer
    }
    for i, name, _parent, scene, description, recommended in _ACTIONS
]

# Carriers per country: names and MCC+MNC ("HNI") codes are public; carrier ids are not [U].
_CARRIERS: dict[str, list[tuple[str, str, list[str]]]] = {
    "US": [
        ("30100001", "AT&T", ["310410"]),
        ("30100002", "T-Mobile", ["310260"]),
        ("30100003", "Verizon", ["311480"]),
    ],
    "DE": [
        ("30200001", "Telekom", ["26201"]),
        ("30200002", "Vodafone", ["26202"]),
        ("30200003", "O2", ["26203"]),
    ],
    "JP": [
        ("30300001", "NTT docomo", ["44010"]),
        ("30300002", "SoftBank", ["44020"]),
        ("30300003", "au (KDDI)", ["44050"]),
    ],
    "GB": [
        ("30400001", "O2", ["23410"]),
        ("30400002", "Vodafone", ["23415"]),
        ("30400003", "Three", ["23420"]),
        ("30400004", "EE", ["23430"]),
    ],
}
CARRIERS: list[dict[str, Any]] = [
    {
        "country_code": country,
        "carriers": [
            {
                "carrier_id": cid,
                "name": name,
                "in_use": True,
                "value": [{"hni_id": hni, "in_use": True} for hni in hnis],
            }
            for cid, name, hnis in rows
        ],
    }
    for country, rows in _CARRIERS.items()
]

# Device models: BRAND > SERIES > MODEL (TikTok's levels). (id, name, parent, os, active).
_DEVICES: list[tuple[str, str, str, str, bool]] = [
    ("401", "Apple", "", "IOS", True),
    ("40101", "iPhone", "401", "IOS", True),
    ("4010101", "iPhone 14", "40101", "IOS", True),
    ("4010102", "iPhone 15", "40101", "IOS", True),
    ("4010103", "iPhone 8", "40101", "IOS", False),
    ("402", "Samsung", "", "ANDROID", True),
    ("40201", "Galaxy S", "402", "ANDROID", True),
    ("4020101", "Galaxy S23", "40201", "ANDROID", True),
    ("4020102", "Galaxy S24", "40201", "ANDROID", True),
    ("403", "Google", "", "ANDROID", True),
    ("40301", "Pixel", "403", "ANDROID", True),
    ("4030101", "Pixel 8", "40301", "ANDROID", True),
]
_DTREE = _tree([(i, n, p) for i, n, p, *_ in _DEVICES])
_DEVICE_LEVELS = {1: "BRAND", 2: "SERIES", 3: "MODEL"}
DEVICE_MODELS: list[dict[str, Any]] = [
    {
        "device_model_id": i,
        "device_model_name": name,
        "child_device_ids": _DTREE[i][1],
        "is_active": active,
        "level": _DEVICE_LEVELS[_DTREE[i][0]],
        "os_type": os_type,
    }
    for i, name, _parent, os_type, active in _DEVICES
]

# Interest keywords ("additional interests"): (id, keyword, language, status, topic). The topic
# is emulator-only: SEMANTIC_RECOMMEND mode answers the keywords sharing a match's topic.
_KEYWORDS: list[tuple[str, str, str, str, str]] = [
    ("501001", "skincare", "en", "EFFECTIVE", "beauty"),
    ("501002", "skincare routine", "en", "EFFECTIVE", "beauty"),
    ("501003", "korean skincare", "en", "EFFECTIVE", "beauty"),
    ("501004", "glass skin", "en", "EFFECTIVE", "beauty"),
    ("501005", "skincare for oily skin over forty", "en", "INEFFECTIVE", "beauty"),
    ("502001", "fitness", "en", "EFFECTIVE", "fitness"),
    ("502002", "home workout", "en", "EFFECTIVE", "fitness"),
    ("502003", "fitness motivation", "en", "EFFECTIVE", "fitness"),
    ("503001", "coffee", "en", "EFFECTIVE", "coffee"),
    ("503002", "iced coffee", "en", "EFFECTIVE", "coffee"),
    ("503003", "coffee lover", "en", "EFFECTIVE", "coffee"),
    ("504001", "mobile gaming", "en", "EFFECTIVE", "gaming"),
    ("504002", "gaming setup", "en", "EFFECTIVE", "gaming"),
    ("505001", "dog treats", "en", "EFFECTIVE", "pets"),
    ("505002", "pet food", "en", "EFFECTIVE", "pets"),
    ("506001", "home decor", "en", "EFFECTIVE", "home"),
    ("506002", "hautpflege", "de", "EFFECTIVE", "beauty"),
]
INTEREST_KEYWORDS: list[dict[str, Any]] = [
    {"keyword_id": i, "keyword": kw, "language": lang, "status": status, "topic": topic}
    for i, kw, lang, status, topic in _KEYWORDS
]

# The sets an emulator's `tool_reference` knob may replace, by name.
DEFAULTS: dict[str, list[dict[str, Any]]] = {
    "regions": REGIONS,
    "languages": LANGUAGES,
    "interest_categories": INTEREST_CATEGORIES,
    "action_categories": ACTION_CATEGORIES,
    "carriers": CARRIERS,
    "device_models": DEVICE_MODELS,
    "interest_keywords": INTEREST_KEYWORDS,
}
