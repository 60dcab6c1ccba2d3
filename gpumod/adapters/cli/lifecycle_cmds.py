"""`gpumod service start|stop|sleep|wake ID`: sagas that act on the machine, one at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from gpumod.adapters.cli.context import app_of, cli_origin

if TYPE_CHECKING:
    from gpumod.commands.machine import Machine
    from gpumod.commands.recorder import Recorder
    from gpumod.events.base import RecordedEvent

Saga = Callable[["Recorder", "Machine"], object]


def register(service_app: typer.Typer) -> None:
    service_app.command("start")(start)
    service_app.command("stop")(stop)
    service_app.command("sleep")(sleep)
    service_app.command("wake")(wake)


def start(service_id: str, ctx: typer.Context) -> None:
    """Start a service (and what it depends on) once VRAM allows; wait until it is healthy."""
    from gpumod.commands.sagas.start import start_with_dependencies

    _run(ctx, "StartService", {"service_id": service_id},
         lambda rec, m: start_with_dependencies(rec, m, service_id))


def stop(service_id: str, ctx: typer.Context) -> None:
    """Stop a service, after the running services that depend on it."""
    from gpumod.commands.sagas.stop import stop_with_dependents

    _run(ctx, "StopService", {"service_id": service_id},
         lambda rec, m: stop_with_dependents(rec, m, service_id))


def sleep(
    service_id: str, ctx: typer.Context,
    level: Annotated[str | None, typer.Option(
        help="l1 (fast wake), l2 (frees weights too) or router; default: the preset's.")] = None,
) -> None:
    """Put a running service to sleep, freeing VRAM while keeping it warm."""
    from gpumod.adapters.cli.errors import UsageError
    from gpumod.commands.lifecycle import SLEEP_LEVELS
    from gpumod.commands.sagas.sleep_wake import sleep_service

    if level is not None and level not in SLEEP_LEVELS:
        raise UsageError(f"--level {level!r}: expected one of {', '.join(SLEEP_LEVELS)}")
    _run(ctx, "SleepService", {"service_id": service_id, "level": level},
         lambda rec, m: sleep_service(rec, m, service_id, level))


def wake(service_id: str, ctx: typer.Context) -> None:
    """Wake a sleeping service once VRAM allows; returns when it can serve."""
    from gpumod.commands.sagas.sleep_wake import wake_service

    _run(ctx, "WakeService", {"service_id": service_id},
         lambda rec, m: wake_service(rec, m, service_id))


def _run(ctx: typer.Context, name: str, arguments: dict[str, object], saga: Saga) -> None:
    from gpumod.adapters.cli.faults import fault_listeners
    from gpumod.commands.operate import operate

    app = app_of(ctx)
    operate(app.store, app.bus.new_id, app.machine(), name, dict(arguments), cli_origin(), saga,
            listeners=[show_events, *fault_listeners()])


def show_events(events: list[RecordedEvent]) -> None:
    """Each step as soon as it is recorded."""
    from gpumod.adapters.cli.render import summary

    for event in events:
        typer.echo(f"#{event.position:<6} {event.type:<24} {summary(event.data, 80)}")
