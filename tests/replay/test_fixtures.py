"""Every recorded log in replay_fixtures/ must replay to the whole state written beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpumod.commands.current_state import current_state
from gpumod.events.chain import verify_rows, verify_store
from gpumod.events.export_files import read_file
from gpumod.events.store import EventStore
from gpumod.events.transfer import import_rows, recorded
from gpumod.projections.fold import fold
from tests.conftest import StepClock
from tests.replay.recorded import LOGS, as_json, expected

RECORDED_RUNS = {"configuration-history", "switch-oom-crash", "switch-history", "crash-recovery",
                 "oom-incident"}


def test_there_are_fixtures() -> None:
    assert {log.stem for log in LOGS} >= RECORDED_RUNS | {"lifecycle-synthetic"}


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
def test_fixture_replays_to_its_recorded_state(log: Path) -> None:
    rows = read_file(log)
    verify_rows(rows)

    state = fold(recorded(row) for row in rows)

    # The whole fold, not only what `replay --json` prints: oom counts, sleep footprints,
    # stream versions and step details are state too.
    assert as_json(state) == expected(log)


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
def test_fixture_imported_into_a_database_reads_back_the_same_state(
    log: Path, tmp_path: Path
) -> None:
    store = EventStore.open(tmp_path / "gpumod.db", StepClock())
    import_rows(store, read_file(log))

    assert verify_store(store).count == len(read_file(log))
    assert as_json(current_state(store)) == expected(log)
