"""Any single changed byte in a stored event is caught by the chain check, at that event.

Someone with the sqlite3 shell drops the append-only trigger and rewrites one byte of one column
of one event; `verify_store` must name exactly that position (never an earlier one).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gpumod.commands.messages import Command, ImportConfiguration, InitStore, RemoveService
from gpumod.events.chain import verify_store
from gpumod.events.errors import ChainBroken
from tests.helpers import service_file
from tests.property.strategies import Fact, fresh_app, perform, sequences

COLUMNS = ("stream", "type", "data", "metadata", "recorded_at", "hash", "event_id")
# Non-ASCII text, a batch, a refusal: bytes worth changing in every column.
OPENING: list[Command | Fact] = [
    ImportConfiguration(initialize=True, services=(
        service_file({"id": "qwen", "name": "Qwen3 — 千问 café", "driver": "llamacpp",
                      "vram_mb": 20000, "unit_vars": {"jinja": True}}),
        service_file({"id": "embed", "name": "Embed", "driver": "vllm", "vram_mb": 2500}))),
    RemoveService("ghost"),
]


def tamper(path: Path, position: int, column: str, offset: int, byte: int) -> bool:
    """Change one byte of one stored value; False if the database refuses the result."""
    con = sqlite3.connect(path)
    try:
        con.execute("DROP TRIGGER IF EXISTS events_no_update")
        [value] = con.execute(f"SELECT CAST({column} AS BLOB) FROM events WHERE position = ?",
                              (position,)).fetchone()
        changed = bytearray(value)
        changed[offset % len(changed)] = byte
        if bytes(changed) == value:
            return False
        try:
            # Stored as TEXT like the original, even when the bytes are no longer UTF-8.
            con.execute(f"UPDATE events SET {column} = CAST(? AS TEXT) WHERE position = ?",
                        (bytes(changed), position))
        except sqlite3.IntegrityError:
            return False  # e.g. the new event_id or (stream, version) is another event's
        con.commit()
        return True
    finally:
        con.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=sequences(max_size=4), pick=st.integers(0, 10**6),
       column=st.sampled_from(COLUMNS), offset=st.integers(0, 10**6), byte=st.integers(0, 255))
def test_any_changed_byte_is_caught_at_its_event(
    sequence: list[Command | Fact], pick: int, column: str, offset: int, byte: int
) -> None:
    with fresh_app() as (app, path):
        for step in [*OPENING, *sequence]:
            perform(app, step)
        count = verify_store(app.store).count
        position = pick % count + 1

        assume(tamper(path, position, column, offset, byte))

        with pytest.raises(ChainBroken) as broken:
            verify_store(app.store)
        assert broken.value.position == position


def test_an_untouched_log_verifies() -> None:
    with fresh_app() as (app, _path):
        for step in [*OPENING, InitStore()]:
            perform(app, step)

        assert verify_store(app.store).count == len(list(app.store.read()))
