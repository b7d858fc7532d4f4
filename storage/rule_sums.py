"""The pre-aggregated sums rules read (table `rule_sums`, issue 11): statements that rebuild an
account's rows from metrics_daily, and how a window of local days maps onto the segments.

Why a table: a batch of rules used to sum every object's daily rows per segment of days
(GROUP BY account, object, segment: a temporary B-tree sort of all of them), each run. The rows
here hold those sums, per object, relative to one local day (`as_of`); the sync rebuilds the
objects it writes in the same transaction as their metrics_daily rows, and a whole account when
its local day has moved on. An account whose rows are for another day than the rules' today
(local midnight passed, no sync since) or that has none is read the old way
(storage.repos.rules.RulesRepo.window_sums): the results are the same either way.

Used by the sync's writes (storage.repos.sync), by the rules' reads (storage.repos.rules) and by
migration 0015's backfill (which runs these statements on its synchronous connection).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Delete, Insert, bindparam, case, cast, delete, func, select

from storage.models.ads import (
    RULE_SUM_FIELDS,
    RULE_SUM_STARTS,
    MetricDaily,
    RuleSum,
    rule_sum_column,
)

# The levels rules look at (the advertiser level is not a rule's).
LEVELS = ("campaign", "adgroup", "ad")
SEGMENTS = len(RULE_SUM_STARTS)
_MONEY = ("spend", "purchase_value")
# Object ids per statement when a write names them (well under SQLite's 32766 parameters).
CHUNK = 2000
_LABEL = {"rows": "n_rows"}  # the row count's name inside the statement


def columns() -> list[str]:
    """The segment columns in storage order: s0_rows, s0_spend, ..., s10_purchase_value."""
    return [rule_sum_column(s, f) for s in range(SEGMENTS) for f in RULE_SUM_FIELDS]


Statement = tuple[Delete | Insert, dict[str, Any]]


def refresh_statements(
    account_id: int,
    today: date,
    level: str | None = None,
    object_ids: Sequence[str] | None = None,
) -> list[Statement]:
    """Delete and rebuild (from metrics_daily, as of the local day `today`) the rows of one
    account: all of them, or those of one level's listed objects. Days after `today` are left
    out, as the rules' own query leaves them out. Statements with their parameters: the
    statements are built once per shape (a sync runs them for every write; building and
    keying the pivot each time was a quarter of a sync's CPU)."""
    params: dict[str, Any] = {"account_id": account_id, "today": today}
    params.update(
        {f"edge{n}": today - timedelta(days=RULE_SUM_STARTS[n + 1]) for n in range(SEGMENTS - 1)}
    )
    if level is not None:
        params["level"] = level
    if object_ids is not None:
        params["object_ids"] = list(object_ids)
    gone, insert = _statements(level is not None, object_ids is not None)
    return [(gone, params), (insert, params)]


@lru_cache(maxsize=8)
def _statements(by_level: bool, by_ids: bool) -> tuple[Delete, Insert]:
    """The delete and the rebuild of `refresh_statements`, with bound parameters."""
    m = MetricDaily
    day = MetricDaily.day.type
    account = bindparam("account_id", type_=BigInteger)
    today = bindparam("today", type_=day)
    where: list[Any] = [m.ad_account_id == account, m.day <= today]
    gone: list[Any] = [RuleSum.ad_account_id == account]
    if by_level:
        where.append(m.level == bindparam("level"))
        gone.append(RuleSum.level == bindparam("level"))
    else:
        where.append(m.level.in_(LEVELS))
    if by_ids:
        where.append(m.object_id.in_(bindparam("object_ids", expanding=True)))
        gone.append(RuleSum.object_id.in_(bindparam("object_ids", expanding=True)))
    # Segment k: the days from RULE_SUM_STARTS[k] to RULE_SUM_STARTS[k + 1] - 1 days before
    # `today` (newest first: the first test that holds wins; the last segment has no end).
    segment = case(
        *[(m.day > bindparam(f"edge{n}", type_=day), n) for n in range(SEGMENTS - 1)],
        else_=SEGMENTS - 1,
    ).label("seg")
    per_segment = (
        select(
            m.level,
            m.object_id,
            segment,
            func.count().label("n_rows"),
            *(
                func.sum(cast(getattr(m, f), BigInteger) if f in _MONEY else getattr(m, f)).label(f)
                for f in RULE_SUM_FIELDS[1:]
            ),
        )
        .where(*where)
        .group_by(m.level, m.object_id, segment)
        .subquery()
    )
    p = per_segment.c
    pivot = select(
        account,
        p.level,
        p.object_id,
        today,
        *(
            # cast: PostgreSQL sums BIGINT as NUMERIC.
            cast(func.sum(case((p.seg == s, p[_LABEL.get(f, f)]), else_=0)), BigInteger)
            for s in range(SEGMENTS)
            for f in RULE_SUM_FIELDS
        ),
    ).group_by(p.level, p.object_id)
    insert = RuleSum.__table__.insert().from_select(
        ["ad_account_id", "level", "object_id", "as_of", *columns()], pivot
    )
    return delete(RuleSum).where(*gone), insert


def refreshes(
    account_id: int, today: date, level: str, object_ids: Sequence[str]
) -> list[Statement]:
    """`refresh_statements` for one write of a level's objects, in chunks of ids."""
    ids = sorted(set(object_ids))
    out: list[Statement] = []
    for start in range(0, len(ids), CHUNK):
        out += refresh_statements(account_id, today, level, ids[start : start + CHUNK])
    return out


def segment_run(today: date, start: date | None, end: date) -> tuple[int, int] | None:
    """The segments (first, last index, newest first) that local days `start`..`end` (start
    None: since the beginning) cover when the rows are as of `today`; None when the days do
    not fall on segment edges (or lie after `today`): then the table cannot answer."""
    newest = (today - end).days
    if newest not in RULE_SUM_STARTS:
        return None
    if start is None:
        return RULE_SUM_STARTS.index(newest), SEGMENTS - 1
    after = (today - start).days + 1
    if after not in RULE_SUM_STARTS or after <= newest:
        return None
    return RULE_SUM_STARTS.index(newest), RULE_SUM_STARTS.index(after) - 1
