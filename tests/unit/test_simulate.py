"""Given services, modes and one GPU reading / when simulated / then the verdict, the figures
and ranked alternatives (pure: no machine, no log)."""

from __future__ import annotations

from typing import Any

import pytest

from gpumod.commands.simulate import SimulationError, simulate
from gpumod.commands.switch_plan import Footprint, plan_switch
from gpumod.commands.switch_reports import simulation_dict, timeline_dict
from gpumod.events import catalogue as ev
from gpumod.events.base import Event
from gpumod.projections.fold import fold
from gpumod.projections.state import State
from tests.helpers import given, recorded


def svc(sid: str, vram: int, **extra: Any) -> ev.ServiceRegistered:
    return ev.ServiceRegistered(service_id=sid, definition={
        "id": sid, "name": sid, "driver": "vllm", "vram_mb": vram, **extra})


def mode(mid: str, *services: str) -> ev.ModeDefined:
    return ev.ModeDefined(mode_id=mid, definition={"id": mid, "name": mid,
                                                   "services": list(services)})


def running(sid: str, vram: int) -> list[Event]:
    return [ev.ServiceStarting(service_id=sid, backend="fake", vram_needed_mb=vram),
            ev.ServiceProcessLaunched(service_id=sid, backend="fake", pid=100 + vram % 97),
            ev.ServiceBecameHealthy(service_id=sid, elapsed_ms=5)]


CONFIG = [svc("coder", 18000, context_size=32768, kv_cache_per_1k=200), svc("embed", 2500),
          svc("chat", 7000, supports_sleep=True, sleep_mode="l1"), mode("code", "embed", "coder")]


def test_a_mode_that_fits_has_no_alternatives() -> None:
    state = given(*CONFIG)

    result = simulate(state, Footprint(24576), "code", ("embed", "coder"))

    assert result.plan.fits and result.alternatives == []
    assert [(s.id, s.action, s.need_mb) for s in result.services] == [
        ("embed", "start", 2500), ("coder", "start", 18000)]


def test_a_mode_that_does_not_fit_gets_ranked_alternatives_that_say_what_they_save() -> None:
    state = given(*CONFIG, *running("chat", 7000))

    result = simulate(state, Footprint(24576 - 7000 - 2000, {"chat": 7000}), "code+chat",
                      ("embed", "coder", "chat"))

    assert not result.plan.fits  # needs 20500 + 512, only 15576 free
    report = simulation_dict(result)
    first = report["alternatives"][0]
    assert (first["action"], first["service"], first["fits"]) == ("sleep", "chat", True)
    actions = {(a["action"], a["service"]) for a in report["alternatives"]}
    assert {("drop", "coder"), ("drop", "embed"), ("shorten-context", "coder")} <= actions
    shorten = next(a for a in report["alternatives"] if a["action"] == "shorten-context")
    assert shorten["fits"] and "--context coder=" in shorten["detail"]


def test_a_shorter_context_lowers_the_need_by_its_kv_cache() -> None:
    state = given(*CONFIG)

    result = simulate(state, Footprint(24576), "code", ("embed", "coder"), {"coder": 16384})

    assert dict((s.id, s.need_mb) for s in result.services)["coder"] == 18000 - 200 * 16384 // 1000


def test_a_context_without_kv_figures_is_refused_naming_the_argument() -> None:
    with pytest.raises(SimulationError, match="--context embed=100"):
        simulate(given(*CONFIG), Footprint(24576), "x", ("embed",), {"embed": 100})


def test_unhealthy_and_starting_services_outside_the_target_are_stopped() -> None:
    state = given(*CONFIG, *running("chat", 7000),
                  ev.ServiceBecameUnhealthy(service_id="chat", consecutive_failures=3,
                                            last_error="timeout"))

    plan = plan_switch(state, "code", Footprint(17000, {"chat": 7000}))

    assert plan.stop == ("chat",) and plan.orphans == ("chat",)
    assert plan.freed_mb == 7000


def test_a_timeline_shows_each_step_duration_since_the_one_before() -> None:
    history = recorded(*CONFIG, ev.ModeSwitchRequested(switch_id="s", from_mode=None,
                                                       to_mode="code"),
                       *running("embed", 2500),
                       ev.ModeSwitchCompleted(switch_id="s", to_mode="code", duration_ms=4))
    state: State = fold(history)

    report = timeline_dict(state.switches["s"])

    # `recorded` stamps events one microsecond apart
    assert [s["duration_ms"] for s in report["steps"]] == [0.0, 0.001, 0.001, 0.001, 0.001]
    assert report["status"] == "completed" and report["duration_ms"] == 0.004
