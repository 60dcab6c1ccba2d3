"""Every recorded log in replay_fixtures/ must replay to the state written beside it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from gpumod.adapters.cli.state_report import as_dict
from gpumod.commands.current_state import current_state
from gpumod.events.chain import verify_rows, verify_store
from gpumod.events.store import EventStore
from gpumod.events.transfer import import_rows, read_file, recorded
from gpumod.projections.fold import fold
from tests.conftest import StepClock

FIXTURES = Path(__file__).resolve().parents[2] / "replay_fixtures"
LOGS = sorted(FIXTURES.glob("*.jsonl"))


def expected(log: Path) -> object:
    return orjson.loads(log.with_name(log.name.removesuffix(".jsonl") + ".state.json").read_bytes())


def test_there_are_fixtures() -> None:
    assert len(LOGS) >= 2


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
def test_fixture_replays_to_its_recorded_state(log: Path) -> None:
    rows = read_file(log)
    verify_rows(rows)

    state = fold(recorded(row) for row in rows)

    assert orjson.loads(orjson.dumps(as_dict(state))) == expected(log)


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
def test_fixture_imported_into_a_database_reads_back_the_same_state(
    log: Path, tmp_path: Path
) -> None:
    store = EventStore.open(tmp_path / "gpumod.db", StepClock())
    import_rows(store.engine, read_file(log))

    assert verify_store(store.engine).count == len(read_file(log))
    assert orjson.loads(orjson.dumps(as_dict(current_state(store)))) == expected(log)


def test_the_real_run_fixture_replays_what_the_run_did() -> None:
    """replay_fixtures/switch-oom-crash (scripts/record_real_fixture.sh): switches, a refusal,
    an OOM rolled back, gpumod killed mid-switch and recovered, a crash the monitor found."""
    rows = read_file(FIXTURES / "switch-oom-crash.jsonl")
    state = fold(recorded(row) for row in rows)

    statuses = [t.status for t in state.switches.values()]
    assert {"completed", "rolled_back", "interrupted"} <= set(statuses)
    assert state.switch_in_progress is None and state.active_mode == "rag"
    assert state.services["vllm-embedding"].oom_count >= 1
    assert state.services["vllm-embedding"].state == "FAILED"  # crashed, found by the monitor
    types = [row.type for row in (recorded(row) for row in rows)]
    assert "CommandRejected" in types and "ServiceStateReconciled" in types
    assert not state.anomalies
