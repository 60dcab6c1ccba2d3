"""Two commands that each write what the other read must not both succeed (no write skew):
removing a service while a mode starts using it, in either order of arrival."""

from __future__ import annotations

import pytest

from gpumod.bootstrap import App
from gpumod.commands.configuration import remove_service
from gpumod.commands.current_state import current_state
from gpumod.commands.errors import Rejected
from gpumod.commands.handlers import READS
from gpumod.commands.messages import ImportConfiguration, RemoveService
from gpumod.commands.recorder import Origin, Recorder
from gpumod.events.base import Event
from gpumod.projections.state import State
from tests.helpers import mode_file, service_file

QWEN = {"id": "qwen", "name": "Qwen", "driver": "llamacpp", "vram_mb": 20000}
ORIGIN = Origin("cli:tester")


def define_mode(app: App, services: list[str]) -> None:
    files = (mode_file({"id": "code", "name": "C", "services": services}),)
    app.bus.handle(ImportConfiguration(modes=files), ORIGIN)


def test_a_mode_taking_the_service_between_decision_and_append_voids_the_removal(
    app: App,
) -> None:
    app.bus.handle(ImportConfiguration(services=(service_file(QWEN),)), ORIGIN)
    define_mode(app, [])
    command = RemoveService("qwen")
    attempts: list[int] = []

    def decide_while_another_writer_races(state: State) -> list[Event]:
        attempts.append(1)
        events = remove_service(command, state)  # decided: no mode uses qwen
        if len(attempts) == 1:
            define_mode(app, ["qwen"])  # ...but a mode starts using it before the append
        return events

    rec = Recorder(app.store, app.bus.new_id, "RemoveService", {}, ORIGIN)
    with pytest.raises(Rejected, match="used by mode"):
        rec.decide(decide_while_another_writer_races,
                   lambda state: READS[RemoveService](command, state))

    assert len(attempts) == 2  # re-decided on the new state, then refused
    assert "qwen" in current_state(app.store).services


def test_without_the_read_guard_the_race_would_remove_a_service_a_mode_uses(app: App) -> None:
    """The same race with no read set: shows what the guard prevents."""
    app.bus.handle(ImportConfiguration(services=(service_file(QWEN),)), ORIGIN)
    define_mode(app, [])
    done: list[int] = []

    def racing(state: State) -> list[Event]:
        events = remove_service(RemoveService("qwen"), state)
        if not done:
            define_mode(app, ["qwen"])
            done.append(1)
        return events

    Recorder(app.store, app.bus.new_id, "RemoveService", {}, ORIGIN).decide(racing)

    state = current_state(app.store)
    assert "qwen" not in state.services and state.modes["code"].definition["services"] == ["qwen"]
