"""The recorded logs in replay_fixtures/, read and replayed as the tests need them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from gpumod.events.base import RecordedEvent
from gpumod.events.export_files import read_file
from gpumod.events.transfer import recorded
from gpumod.projections.fold import fold
from gpumod.projections.state import State, SwitchTimeline

FIXTURES = Path(__file__).resolve().parents[2] / "replay_fixtures"
LOGS = sorted(FIXTURES.glob("*.jsonl"))


def expected(log: Path) -> Any:
    """The whole state the log must replay to (scripts/record_fixture.py wrote it)."""
    return orjson.loads(log.with_name(log.name.removesuffix(".jsonl") + ".state.json").read_bytes())


def as_json(value: object) -> Any:
    """`value` as it reads back from JSON: dataclasses field by field, tuples as lists."""
    return orjson.loads(orjson.dumps(value))


def events(name: str) -> list[RecordedEvent]:
    return [recorded(row) for row in read_file(FIXTURES / f"{name}.jsonl")]


def replayed(name: str) -> State:
    return fold(events(name))


def timelines(state: State) -> list[SwitchTimeline]:
    """The switches in the order they were requested."""
    return sorted(state.switches.values(), key=lambda t: t.steps[0].position)


def journeys(state: State) -> list[tuple[str | None, str, str]]:
    return [(t.from_mode, t.to_mode, t.status) for t in timelines(state)]


def steps(timeline: SwitchTimeline) -> list[tuple[str, str | None]]:
    return [(s.type, s.detail.get("service_id")) for s in timeline.steps]
