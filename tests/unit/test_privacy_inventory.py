"""The inventory answers for every stored column, and its check catches one that it does not."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData, String, Table

from storage.inventory import TABLES, Erase, Retention, inventory_problems, owner_chain
from storage.models import Base


def test_every_model_column_is_classified() -> None:
    assert inventory_problems(Base.metadata) == []


def test_an_unclassified_column_or_table_fails_the_check() -> None:
    scratch = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(scratch)
    # A new column on a known table, and a whole new table, with no privacy answer.
    scratch.tables["users"].append_column(Column("phone", String(32)))
    Table("referrals", scratch, Column("id", Integer, primary_key=True),
          Column("user_id", BigInteger, ForeignKey("users.id")))
    problems = inventory_problems(scratch)
    assert "users.phone: not classified in storage/inventory.py" in problems
    assert "referrals: table not in storage/inventory.py" in problems


def test_a_stale_entry_fails_the_check_too() -> None:
    scratch = MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name != "payments":
            table.to_metadata(scratch)
    assert "payments: in the inventory but not a table" in inventory_problems(scratch)


def test_every_table_reaches_its_user() -> None:
    for table in TABLES.values():
        top = owner_chain(table)[-1]
        assert top.owner is not None or top.owner_note, table.name
        if table.owner is not None and table.owner.parent is None:
            assert table.owner.column in table.columns, table.name


def test_kept_rows_hold_no_identity_in_clear() -> None:
    # Rows that outlive the account (billing, audit, the erasure's proof) keep no column that
    # identifies the user: the id is pseudonymised, free text anonymised.
    for table in TABLES.values():
        if table.retention in (Retention.LAW, Retention.AUDIT):
            assert table.keeps_rows, table.name
            for name, col in table.columns.items():
                if name in ("user_id", "actor_id", "target_id"):
                    assert col.erase in (Erase.PSEUDONYMISE, Erase.ANONYMISE), (table.name, name)
