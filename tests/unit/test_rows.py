"""The plain-SQL column list of `rows.py` is the table `schema.py` creates, in its order."""

from __future__ import annotations

from gpumod.events.rows import INSERT, NAMES
from gpumod.events.schema import events


def test_the_row_columns_are_the_tables_columns_in_order() -> None:
    assert tuple(column.name for column in events.columns) == NAMES
    assert INSERT.count("?") == len(events.columns)
