"""`verify_store` finds events changed, removed or reordered by someone who dropped the triggers."""

from __future__ import annotations

import pytest

from gpumod.bootstrap import App
from gpumod.events import codec
from gpumod.events.chain import verify_store
from gpumod.events.errors import ChainBroken
from gpumod.events.transfer import export_rows
from tests.integration.support import db_file, new_event, raw_execute, service

EVENTS = 6


@pytest.fixture
def filled(app: App) -> App:
    for i in range(EVENTS):
        app.store.append([new_event(service(f"s{i}"), f"e{i}")])
    return app


def test_an_intact_log_verifies_with_its_count_and_head(filled: App) -> None:
    verified = verify_store(filled.store)

    assert verified.count == EVENTS
    assert verified.head_hash == filled.store.head()[1]


def test_an_empty_log_verifies(app: App) -> None:
    assert verify_store(app.store).count == 0


@pytest.mark.parametrize("position", [1, 4, EVENTS])
def test_changed_data_is_found_at_its_position(filled: App, position: int) -> None:
    raw_execute(db_file(filled.store), "DROP TRIGGER events_no_update",
                "UPDATE events SET data = replace(data, '1000', '1001') "
                f"WHERE position = {position}")

    with pytest.raises(ChainBroken) as broken:
        verify_store(filled.store)

    assert broken.value.position == position
    assert f"position {position}" in str(broken.value)


@pytest.mark.parametrize("column", ["metadata", "recorded_at", "type", "stream"])
def test_a_change_to_any_hashed_column_is_found(filled: App, column: str) -> None:
    raw_execute(db_file(filled.store), "DROP TRIGGER events_no_update",
                f"UPDATE events SET {column} = {column} || ' ' WHERE position = 3")

    with pytest.raises(ChainBroken) as broken:
        verify_store(filled.store)

    assert broken.value.position == 3


def test_recomputing_only_the_changed_events_hash_is_still_found_at_the_next(
        filled: App) -> None:
    # Whoever forges event 3 consistently must also forge every hash after it.
    rows = list(export_rows(filled.store))
    position, stream, version, event_id, type_, schema, data, meta, at, _ = rows[2]
    forged = data.replace("1000", "9999")
    assert forged != data
    forged_hash = codec.chain_hash(rows[1][9], position, stream, version, event_id, type_,
                                   schema, forged, meta, at)
    raw_execute(db_file(filled.store), "DROP TRIGGER events_no_update",
                f"UPDATE events SET data = '{forged}', hash = '{forged_hash}' "
                "WHERE position = 3")

    with pytest.raises(ChainBroken) as broken:
        verify_store(filled.store)

    assert broken.value.position == 4


@pytest.mark.parametrize("column", ["actor", "correlation_id"])
def test_a_changed_index_copy_of_metadata_is_found(filled: App, column: str) -> None:
    # These columns are not hashed; `history --actor` filters on them, so they are checked too.
    raw_execute(db_file(filled.store), "DROP TRIGGER events_no_update",
                f"UPDATE events SET {column} = 'forged' WHERE position = 2")

    with pytest.raises(ChainBroken) as broken:
        verify_store(filled.store)

    assert broken.value.position == 2


@pytest.mark.parametrize("position", [1, 3, EVENTS])
def test_a_removed_event_is_found(filled: App, position: int) -> None:
    raw_execute(db_file(filled.store), "DROP TRIGGER events_no_delete",
                f"DELETE FROM events WHERE position = {position}")

    if position == EVENTS:
        # Removing the newest event leaves a valid, shorter chain: the count shows it.
        assert verify_store(filled.store).count == EVENTS - 1
        return
    with pytest.raises(ChainBroken) as broken:
        verify_store(filled.store)

    assert broken.value.position == position


def test_two_swapped_events_are_found_at_the_first_of_them(filled: App) -> None:
    raw_execute(db_file(filled.store), "DROP TRIGGER events_no_update",
                "UPDATE events SET position = -2 WHERE position = 2",
                "UPDATE events SET position = 2 WHERE position = 5",
                "UPDATE events SET position = 5 WHERE position = -2")

    with pytest.raises(ChainBroken) as broken:
        verify_store(filled.store)

    assert broken.value.position == 2
