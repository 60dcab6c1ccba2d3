"""`gpumod replay`: the state as it was at a position or time, from the log or an export."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import takewhile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpumod.adapters.cli.context import app_of, emit_json

if TYPE_CHECKING:
    from gpumod.bootstrap import App
    from gpumod.events.base import RecordedEvent
    from gpumod.projections.state import State


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)


def replay(
    ctx: typer.Context,
    until: Annotated[str | None, typer.Option(
        help="A position (e.g. 120) or a time (ISO 8601, or 2h for two hours ago).")] = None,
    from_file: Annotated[Path | None, typer.Option(
        "--from", help="Replay an exported log (JSONL/CSV) instead of the database.")] = None,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Refold the whole log and check it equals the saved snapshot.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the state as JSON.")] = False,
) -> None:
    """Rebuild state from events: services, modes, active mode, VRAM ledger."""
    from gpumod.adapters.cli import state_report

    if rebuild:
        _rebuild(app_of(ctx))
        return
    if from_file is not None:
        state = _replay_export(from_file, until)
    elif until is not None:
        state = _at(app_of(ctx), until)  # from the nearest checkpoint, not from the start
    else:
        state = _whole_log(app_of(ctx))
    report = state_report.as_dict(state)
    if json:
        emit_json(report)
    else:
        typer.echo(state_report.as_text(report))


def _whole_log(app: App) -> State:
    from gpumod.commands.current_state import refold

    return refold(app.store, None)  # streamed: a large log is never held in memory


def _replay_export(from_file: Path, until: str | None) -> State:
    """Fold an export as it is read; the whole file's chain is checked, even past --until, so
    an export that was altered is reported, not replayed."""
    from gpumod.events.chain import ChainCheck
    from gpumod.events.export_files import iter_file
    from gpumod.events.transfer import recorded
    from gpumod.projections.fold import fold

    rows = ChainCheck().passing(iter_file(from_file))
    events = map(recorded, rows)
    state = fold(_until(events, until) if until is not None else events)
    deque(rows, maxlen=0)
    return state


def _at(app: App, until: str) -> State:
    from gpumod.commands.current_state import state_at

    if until.isdigit():
        return state_at(app.store, int(until))
    return state_at(app.store, app.store.last_before(_moment(until)))


def _until(events: Iterable[RecordedEvent], until: str) -> Iterable[RecordedEvent]:
    if until.isdigit():
        return takewhile(lambda e: e.position <= int(until), events)
    moment = _moment(until)
    # A prefix of the log, so the state shown is one that existed even if clocks stepped back.
    return takewhile(lambda e: e.recorded_at <= moment, events)


def _moment(until: str) -> str:
    from gpumod.adapters.cli.timeparse import parse_when
    from gpumod.bootstrap import utc_now

    return parse_when(until, "--until", utc_now())


def _rebuild(app: App) -> None:
    from gpumod.adapters.cli.state_report import compare
    from gpumod.commands.current_state import refold, usable_snapshot
    from gpumod.projections.snapshots import load_state

    snapshot = usable_snapshot(app.store)
    if snapshot is None:
        total = refold(app.store, app.store.head()[0])
        typer.echo(f"no snapshot from this gpumod version; refolded {total.position} events")
        return
    rebuilt = refold(app.store, snapshot.position)
    differences = compare(load_state(snapshot.state), rebuilt)
    if differences:
        for line in differences:
            typer.echo(f"MISMATCH {line}")
        raise typer.Exit(1)
    typer.echo(f"ok: refolding events 1..{snapshot.position} equals the snapshot")
