"""Random configuration commands and observed facts, for the property-based tests.

Ids come from small pools so that imports collide (changes, unchanged re-imports), modes name
services that are missing (refusals) and removals hit both known and unknown ids.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from gpumod.bootstrap import App, bootstrap
from gpumod.commands.bus import Origin
from gpumod.commands.errors import Rejected
from gpumod.commands.messages import (
    Command,
    ImportConfiguration,
    InitStore,
    ModeFile,
    RemoveMode,
    RemoveService,
    ServiceFile,
)
from gpumod.definitions import Driver, ModeDefinition, ServiceDefinition, SleepMode
from gpumod.events import catalogue as ev
from gpumod.events.base import Event, NewEvent
from tests.conftest import StepClock, counting_ids

SERVICE_IDS = ("a", "b", "c")
MODE_IDS = ("m1", "m2")
SWITCH_IDS = ("s1", "s2")
CORRELATIONS = ("c1", "c2", None)
ORIGIN = Origin(actor="cli:prop", host="prophost")

small_text = st.text(min_size=1, max_size=6)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), small_text,
                        st.floats(allow_nan=False, allow_infinity=False, width=32))

service_definitions = st.fixed_dictionaries(
    {"id": st.sampled_from(SERVICE_IDS), "name": small_text,
     "driver": st.sampled_from([d.value for d in Driver]), "vram_mb": st.integers(0, 48000)},
    optional={
        "port": st.integers(1, 65535),
        "context_size": st.integers(1, 131072),
        "model_id": small_text,
        "supports_sleep": st.booleans(),
        "sleep_mode": st.sampled_from([m.value for m in SleepMode]),
        "depends_on": st.lists(st.sampled_from(SERVICE_IDS), max_size=2),
        "unit_vars": st.dictionaries(st.sampled_from(("x", "y", "jinja")), json_scalar,
                                     max_size=2),
    },
)
mode_definitions = st.fixed_dictionaries(
    {"id": st.sampled_from(MODE_IDS), "name": small_text,
     # "d" is never registered, and a service may be listed twice: both are refusals.
     "services": st.lists(st.sampled_from((*SERVICE_IDS, "d")), max_size=3)},
    optional={"description": small_text, "total_vram_mb": st.integers(0, 48000)},
)


def _import(services: list[dict[str, Any]], modes: list[dict[str, Any]],
            initialize: bool) -> ImportConfiguration:
    return ImportConfiguration(
        services=tuple(ServiceFile(f"presets/{s['id']}.yaml", ServiceDefinition.model_validate(s))
                       for s in services),
        modes=tuple(ModeFile(f"modes/{m['id']}.yaml", ModeDefinition.model_validate(m))
                    for m in modes),
        initialize=initialize,
    )


commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(_import, st.lists(service_definitions, max_size=3),
              st.lists(mode_definitions, max_size=2), st.booleans()),
    st.builds(RemoveService, st.sampled_from((*SERVICE_IDS, "d"))),
    st.builds(RemoveMode, st.sampled_from((*MODE_IDS, "m3"))),
    st.just(InitStore()),
)


@dataclass(frozen=True)
class Fact:
    """Something observed on the machine, appended as it is (no validation, like a monitor)."""

    event: Event
    correlation_id: str | None


sid = st.sampled_from(SERVICE_IDS)
switch = st.sampled_from(SWITCH_IDS)
mode = st.sampled_from(MODE_IDS)
observed_events: st.SearchStrategy[Event] = st.one_of(
    st.builds(ev.ServiceStarting, service_id=sid, backend=st.just("process"),
              pid=st.integers(1, 99999), vram_needed_mb=st.integers(0, 48000)),
    st.builds(ev.ServiceBecameHealthy, service_id=sid, elapsed_ms=st.integers(0, 10**6)),
    st.builds(ev.ServiceStartFailed, service_id=sid, reason=small_text),
    st.builds(ev.ServiceStopping, service_id=sid),
    st.builds(ev.ServiceStopped, service_id=sid),
    st.builds(ev.ServiceSlept, service_id=sid, level=st.sampled_from(("l1", "l2", "router"))),
    st.builds(ev.ServiceWoke, service_id=sid, elapsed_ms=st.integers(0, 10**6)),
    st.builds(ev.ServiceCrashed, service_id=sid, exit_code=st.integers(-9, 255)),
    st.builds(ev.ModeSwitchRequested, switch_id=switch, from_mode=st.none() | mode, to_mode=mode),
    st.builds(ev.ModeSwitchCompleted, switch_id=switch, to_mode=mode,
              duration_ms=st.integers(0, 10**6)),
    st.builds(ev.ModeSwitchFailed, switch_id=switch, to_mode=mode, reason=small_text),
    st.builds(ev.ModeSwitchRolledBack, switch_id=switch, restored_mode=st.none() | mode),
    st.builds(ev.GpuDetected, name=small_text, total_mb=st.integers(1, 200000)),
    st.builds(ev.VramObserved, total_mb=st.integers(1, 200000), used_mb=st.integers(0, 200000),
              free_mb=st.integers(0, 200000)),
    st.builds(ev.ServiceVramMeasured, service_id=sid, vram_mb=st.integers(0, 48000)),
    st.builds(ev.OomDetected, service_id=sid, evidence=st.just("log"),
              free_mb=st.integers(0, 1000), total_mb=st.integers(1, 200000)),
    st.builds(ev.SettingChanged, key=st.sampled_from(("poll_s", "theme")), value=json_scalar),
)
facts = st.builds(Fact, observed_events, st.sampled_from(CORRELATIONS))


@st.composite
def switch_episodes(draw: st.DrawFn) -> list[Fact]:
    """A switch requested, then facts of its correlation (its steps), perhaps its ending."""
    correlation = draw(st.sampled_from(CORRELATIONS[:-1]))
    requested = draw(st.builds(ev.ModeSwitchRequested, switch_id=switch,
                               from_mode=st.none() | mode, to_mode=mode))
    during = draw(st.lists(observed_events, max_size=4))
    return [Fact(requested, correlation), *(Fact(e, correlation) for e in during)]


def sequences(max_size: int) -> st.SearchStrategy[list[Command | Fact]]:
    """Commands and facts, with whole switch episodes mixed in."""
    chunk: st.SearchStrategy[list[Command | Fact]] = st.one_of(
        commands.map(lambda c: [c]), facts.map(lambda f: [f]), switch_episodes())
    return st.lists(chunk, min_size=1, max_size=max_size).map(
        lambda chunks: [step for chunk in chunks for step in chunk])


def perform(app: App, step: Command | Fact) -> None:
    """Run a command (a refusal is fine: it is recorded too), or append an observed fact."""
    if isinstance(step, Fact):
        meta: dict[str, Any] = {"actor": "monitor"}
        if step.correlation_id is not None:
            meta["correlation_id"] = step.correlation_id
        app.store.append([NewEvent(app.bus.new_id(), step.event.stream(), step.event.type_name,
                                   step.event.schema_version,
                                   step.event.model_dump(mode="json"), meta)])
        return
    with suppress(Rejected):
        app.bus.handle(step, ORIGIN)


@contextmanager
def fresh_app() -> Iterator[tuple[App, Path]]:
    """A new database per hypothesis example (function fixtures are shared between examples)."""
    with tempfile.TemporaryDirectory(prefix="gpumod-prop-") as folder:
        path = Path(folder) / "gpumod.db"
        yield bootstrap(path, clock=StepClock(), new_id=counting_ids()), path
