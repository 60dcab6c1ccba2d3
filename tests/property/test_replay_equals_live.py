"""For any sequence of commands (and facts observed meanwhile), the live state equals a replay of
the whole log from zero: the state a long-running process keeps by folding each new event onto
what it had, and the state commands read (snapshot plus the events since), with snapshots
written mid-sequence or not at all."""

from __future__ import annotations

import dataclasses
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpumod.adapters.cli.state_report import as_dict
from gpumod.commands import current_state as live
from gpumod.commands.messages import Command
from gpumod.events.fold_rows import fold_rows as read_rows
from gpumod.events.query import EventFilter
from gpumod.projections.fold import fold, fold_rows
from gpumod.projections.state import State
from tests.property.strategies import Fact, commands, fresh_app, perform, sequences

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
NO_SNAPSHOTS = 10**9


def check_sequence(sequence: list[Command | Fact], snapshot_every: int) -> None:
    """Perform `sequence`, comparing the live states with a replay from zero after each step."""
    with fresh_app() as (app, _path), mock.patch.object(live, "SNAPSHOT_EVERY", snapshot_every):
        kept = State()
        for step in sequence:
            perform(app, step)
            kept = fold(app.store.read(EventFilter(after_position=kept.position)), kept)
            current = live.current_state(app.store)
            replayed = fold(app.store.read())
            from_rows = fold_rows(read_rows(app.store))  # what `gpumod replay` runs

            assert as_dict(current) == as_dict(replayed)
            assert dataclasses.asdict(from_rows) == dataclasses.asdict(replayed)
            assert dataclasses.asdict(current) == dataclasses.asdict(replayed)
            assert dataclasses.asdict(kept) == dataclasses.asdict(replayed)
        snapshot = live.usable_snapshot(app.store)
        if snapshot_every == 0 and app.store.head()[0] > 0:
            assert snapshot is not None, "no snapshot was written: the test tests nothing"
        if snapshot_every == NO_SNAPSHOTS:
            assert snapshot is None


@SETTINGS
@given(st.lists(commands, min_size=1, max_size=10))
def test_replaying_the_log_of_any_commands_gives_the_live_state(
    sequence: list[Command | Fact],
) -> None:
    check_sequence(sequence, snapshot_every=NO_SNAPSHOTS)


@pytest.mark.parametrize("snapshot_every", [0, 2])
def test_replaying_gives_the_live_state_with_snapshots_written_mid_sequence(
    snapshot_every: int,
) -> None:
    @SETTINGS
    @given(sequences(max_size=8))
    def check(sequence: list[Command | Fact]) -> None:
        check_sequence(sequence, snapshot_every)

    check()


@SETTINGS
@given(sequences(max_size=8))
def test_a_stale_snapshot_is_caught_up_to_the_same_state(sequence: list[Command | Fact]) -> None:
    """A snapshot written early, then many events after it: the tail folds onto it correctly."""
    with fresh_app() as (app, _path):
        half = len(sequence) // 2
        with mock.patch.object(live, "SNAPSHOT_EVERY", 0):
            for step in sequence[:half]:
                perform(app, step)
            live.current_state(app.store)  # writes the snapshot (when anything was recorded)
        with mock.patch.object(live, "SNAPSHOT_EVERY", NO_SNAPSHOTS):
            for step in sequence[half:]:
                perform(app, step)
            current = live.current_state(app.store)
        assert dataclasses.asdict(current) == dataclasses.asdict(fold(app.store.read()))
