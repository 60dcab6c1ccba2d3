"""Shared fixtures: a real SQLite log in a temporary folder, with a pinned clock and ids."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gpumod.bootstrap import App, bootstrap
from gpumod.commands.bus import Origin

EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "examples" / "gpumod"


class StepClock:
    """A clock that advances one millisecond each time it is read."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def counting_ids(prefix: str = "id") -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter):06d}"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    yield bootstrap(tmp_path / "gpumod.db", clock=StepClock(), new_id=counting_ids())


@pytest.fixture
def origin() -> Origin:
    return Origin(actor="cli:tester", host="testhost")


@pytest.fixture
def examples() -> Path:
    if not EXAMPLES.is_dir():
        pytest.fail(f"example presets missing: {EXAMPLES} (../shared must sit beside the repo)")
    return EXAMPLES


@pytest.fixture(autouse=True)
def _direct_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never write units into a developer's real ~/.config/systemd/user from a test."""
    monkeypatch.setenv("GPUMOD_PROCESS_BACKEND", "direct")
