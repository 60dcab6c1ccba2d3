"""`gpumod mode switch ID` (steps shown live, then a summary) and `gpumod mode status`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gpumod.adapters.cli.context import app_of, cli_origin, emit_json

if TYPE_CHECKING:
    from gpumod.events.base import RecordedEvent


def register(app: typer.Typer, mode_app: typer.Typer) -> None:
    mode_app.command("switch")(switch)
    mode_app.command("status")(status)
    app.command("recover")(recover)


def recover(ctx: typer.Context) -> None:
    """Repair what a killed gpumod left: compare the log with what runs, record, finish.

    Every command that changes the GPU does this first; this one does only that."""
    from gpumod.commands.operate import operate

    app = app_of(ctx)
    operate(app.store, app.bus.new_id, app.machine(), "Recover", {}, cli_origin(),
            lambda rec, m: None, listeners=[_live])


def switch(
    mode_id: str, ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Print the switch as JSON at the end.")]
    = False,
    rollback: Annotated[bool, typer.Option(
        "--rollback", help="If a step fails, restore the mode that was active before.")] = False,
    no_wait: Annotated[bool, typer.Option(
        "--no-wait", help="Refuse at once if another gpumod is changing the GPU.")] = False,
    release_timeout: Annotated[float, typer.Option(
        "--release-timeout", min=0.1, max=3600,
        help="Seconds to wait for stopped services' VRAM to be freed.")] = 30.0,
) -> None:
    """Switch to a mode: stop, sleep, wake and start services so that exactly it runs."""
    from gpumod.adapters.cli.faults import fault_listeners
    from gpumod.commands.current_state import current_state
    from gpumod.commands.operate import operate
    from gpumod.commands.sagas.switch import switch_mode
    from gpumod.commands.switch_reports import timeline_dict

    app = app_of(ctx)
    arguments: dict[str, Any] = {"mode_id": mode_id, "rollback": rollback}
    _, result = operate(
        app.store, app.bus.new_id, app.machine(), "SwitchMode", arguments, cli_origin(),
        lambda rec, m: switch_mode(rec, m, mode_id, rollback=rollback,
                                   release_timeout_s=release_timeout),
        wait=not no_wait, listeners=([] if json else [_live]) + fault_listeners())
    timeline = timeline_dict(current_state(app.store).switches[result.switch_id])
    if json:
        emit_json(timeline | {"result": result.status})
    else:
        typer.echo(_summary(timeline, result.status))
    if result.status != "completed":
        raise typer.Exit(1)


def status(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The active mode, or the switch in progress and since when."""
    from gpumod.commands.current_state import current_state
    from gpumod.commands.switch_reports import mode_status

    report = mode_status(current_state(app_of(ctx).store))
    if json:
        emit_json(report)
        return
    typer.echo(f"active mode: {report['active_mode'] or '-'}")
    if (running := report["switch_in_progress"]) is not None:
        typer.echo(f"switch in progress: {running['switch_id']} {running['from_mode'] or '-'} -> "
                   f"{running['to_mode']} since {running['started_at'][:19].replace('T', ' ')} "
                   f"UTC, {len(running['steps'])} steps so far\n(if the gpumod driving it was "
                   "killed, `gpumod recover` or any command that changes the GPU finishes it)")
    if (last := report["last_switch"]) is not None:
        typer.echo(f"last switch: {last['from_mode'] or '-'} -> {last['to_mode']} "
                   f"{last['status']} at {(last['ended_at'] or '')[:19].replace('T', ' ')} UTC"
                   + (f": {last['reason']}" if last["reason"] else ""))


def _live(events: list[RecordedEvent]) -> None:
    from gpumod.adapters.cli.render import summary

    for event in events:
        typer.echo(f"  {event.recorded_at[11:23]}  {event.type:<22} {summary(event.data, 70)}")
    sys.stdout.flush()


def _summary(timeline: dict[str, Any], status: str) -> str:
    from gpumod.adapters.cli.render import table

    rows = [(s["type"], s["stream"], "" if s["duration_ms"] is None else f"{s['duration_ms']:.0f}")
            for s in timeline["steps"]]
    head = (f"\nswitch {timeline['switch_id']}: {timeline['from_mode'] or '-'} -> "
            f"{timeline['to_mode']} {status.upper()} in {timeline['duration_ms'] or 0:.0f} ms")
    reason = f"\nreason: {timeline['reason']}" if timeline["reason"] else ""
    return f"{head}{reason}\n{table(('STEP', 'STREAM', '+MS'), rows)}"
