"""Given the log's record of the GPU / when an operation runs on a GPU / then GpuDetected is
recorded exactly when the log did not know that GPU (first run, another card or driver)."""

from __future__ import annotations

from dataclasses import replace

from gpumod.adapters.gpu.base import GpuSnapshot
from gpumod.bootstrap import App
from gpumod.commands.current_state import current_state
from gpumod.commands.gpu_identity import gpu_detected
from gpumod.commands.machine import Machine
from gpumod.commands.operate import operate
from gpumod.commands.recorder import Origin, Recorder
from gpumod.events import catalogue as ev
from gpumod.events.query import EventFilter
from gpumod.projections.state import State
from tests.fake_machine import fake_machine


def nothing(rec: Recorder, machine: Machine) -> None:
    return None


def detections(app: App) -> list[dict[str, object]]:
    return [e.data for e in app.store.read(EventFilter(types=("GpuDetected",)))]


def snapshot(**changes: object) -> GpuSnapshot:
    base = GpuSnapshot(0, "NVIDIA GeForce RTX 4090", "550.54", 24564, 0, 24564, (), False)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_first_operation_records_the_gpu_and_the_next_ones_do_not(app: App) -> None:
    machine, _, _, _ = fake_machine(total_mb=16384)

    for _ in range(3):
        operate(app.store, app.bus.new_id, machine, "Status", {}, Origin("cli:t"), nothing)

    assert detections(app) == [{"gpu_index": 0, "name": "Fake GPU", "total_mb": 16384,
                                "driver_version": "fake", "simulated": True}]
    ledger = current_state(app.store).vram
    assert (ledger.gpu_name, ledger.total_mb) == ("Fake GPU", 16384)


def test_the_gpu_is_its_own_operation_not_a_step_of_the_command(app: App) -> None:
    machine, _, _, _ = fake_machine()
    rec, _ = operate(app.store, app.bus.new_id, machine, "Status", {}, Origin("cli:t"), nothing)

    [detected] = list(app.store.read(EventFilter(types=("GpuDetected",))))

    assert detected.metadata["actor"] == "gpumod:gpu"
    assert detected.metadata["command"]["name"] == "DetectGpu"
    assert detected.correlation_id != rec.correlation_id


def test_a_known_gpu_needs_no_event() -> None:
    state = State()
    state.vram.gpu_name, state.vram.total_mb = "NVIDIA GeForce RTX 4090", 24564
    state.vram.driver_version, state.vram.simulated = "550.54", False

    assert gpu_detected(state, snapshot()) == []


def test_another_card_or_driver_is_recorded() -> None:
    state = State()
    state.vram.gpu_name, state.vram.total_mb = "NVIDIA GeForce RTX 4090", 24564
    state.vram.driver_version, state.vram.simulated = "550.54", False

    assert gpu_detected(state, snapshot(driver_version="560.28")) == [ev.GpuDetected(
        name="NVIDIA GeForce RTX 4090", total_mb=24564, driver_version="560.28")]
    assert gpu_detected(state, snapshot(name="NVIDIA RTX A6000", total_mb=49140)) == [
        ev.GpuDetected(name="NVIDIA RTX A6000", total_mb=49140, driver_version="550.54")]
