"""`gpumod monitor`: watch live services and the GPU, recording each change as an event."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from gpumod.adapters.cli.context import app_of

if TYPE_CHECKING:
    from gpumod.commands.machine import Machine
    from gpumod.commands.sagas.monitor import MonitorSettings
    from gpumod.events.base import RecordedEvent


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor)


def monitor(
    ctx: typer.Context,
    interval: Annotated[float, typer.Option(
        help="Seconds between probes of a healthy service (failing ones back off).")] = 2.0,
    once: Annotated[bool, typer.Option(
        "--once", help="Poll once, print what was recorded, and exit (one probe per "
        "service: crashes and VRAM are recorded; UNHEALTHY takes --failures probes).")] = False,
    failures: Annotated[int, typer.Option(
        help="Consecutive failed probes before a RUNNING service is marked UNHEALTHY.")] = 3,
    successes: Annotated[int, typer.Option(
        help="Consecutive good probes before an UNHEALTHY service is RUNNING again.")] = 2,
) -> None:
    """Poll running services' health and the GPU, recording each transition as an event.

    It only records: a crashed or unhealthy service is not restarted. Runs until Ctrl-C.
    """
    from gpumod.commands.sagas.monitor import Monitor

    settings = _settings(interval, failures, successes)
    app = app_of(ctx)
    machine = app.machine()
    watcher = Monitor(app.store, app.bus.new_id, machine, settings, on_error=_warn)
    typer.echo(_banner(machine, settings, once))
    if once:
        _print_events(watcher.poll_once(machine.monotonic()), none="nothing to record")
        return
    from gpumod.adapters.cli.render import event_header

    typer.echo(event_header())
    watcher.on_record = _print_event
    stop = threading.Event()
    with _stopped_by_signals(stop):
        watcher.run(stop)


def _settings(interval: float, failures: int, successes: int) -> MonitorSettings:
    from gpumod.adapters.cli.errors import UsageError
    from gpumod.commands.health import HealthPolicy
    from gpumod.commands.sagas.monitor import MonitorSettings

    try:
        policy = HealthPolicy(failures_to_unhealthy=failures, successes_to_recover=successes,
                              interval_s=interval,
                              max_interval_s=max(HealthPolicy.max_interval_s, interval))
    except ValueError as exc:
        raise UsageError(f"gpumod monitor: {exc}") from None
    return MonitorSettings(policy)


def _banner(machine: Machine, settings: MonitorSettings, once: bool) -> str:
    snapshot = machine.gpu.snapshot()
    labelled = not snapshot.simulated or "simulated GPU" in snapshot.name
    gpu = snapshot.name + ("" if labelled else " (simulated GPU)")
    policy = settings.health
    rhythm = "one poll" if once else (
        f"polling every {policy.interval_s:g} s (backing off to {policy.max_interval_s:g} s "
        "while failing); Ctrl-C to stop")
    return (f"monitor on {gpu}, {machine.backend.name} processes: {rhythm}; UNHEALTHY after "
            f"{policy.failures_to_unhealthy} failed probes, RUNNING after "
            f"{policy.successes_to_recover} good ones")


def _print_events(events: list[RecordedEvent], none: str) -> None:
    from gpumod.adapters.cli.render import event_header

    if not events:
        typer.echo(none)
        return
    typer.echo(event_header())
    for event in events:
        _print_event(event)


def _print_event(event: RecordedEvent) -> None:
    from gpumod.adapters.cli.render import event_line

    typer.echo(event_line(event))


def _warn(sid: str | None, exc: Exception) -> None:
    print(f"warning: {sid or 'poll'}: {exc}", file=sys.stderr, flush=True)


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM end the loop after the poll under way, not in the middle of it."""
    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
