"""`gpumod history`: the log, filtered, as a table or JSON lines, optionally followed live."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from gpumod.adapters.cli.context import app_of

if TYPE_CHECKING:
    from gpumod.events.base import RecordedEvent

FOLLOW_POLL_S = 0.2


def register(app: typer.Typer) -> None:
    app.command("history")(history)


def history(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Option(help="Only events about this service.")] = None,
    mode: Annotated[str | None, typer.Option(help="Only events about this mode.")] = None,
    type_: Annotated[list[str] | None, typer.Option(
        "--type", help="Only this event type (repeatable), e.g. ServiceStarting.")] = None,
    actor: Annotated[str | None, typer.Option(
        help="Only events by this actor: 'cli', 'cli:alice', 'mcp', 'monitor'…")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (ISO 8601, or 2h, 3d).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this time.")] = None,
    correlation: Annotated[str | None, typer.Option(help="Only one user operation.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the newest N events.")] = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    follow: Annotated[bool, typer.Option(
        "--follow", "-f", help="Keep printing new events as other processes record them.")] = False,
) -> None:
    """What happened: every recorded event, oldest first."""
    from dataclasses import replace

    from gpumod.adapters.cli.timeparse import parse_when
    from gpumod.events.query import EventFilter

    app = app_of(ctx)
    now = app.clock()
    flt = EventFilter(
        service=service, mode=mode, types=tuple(type_ or ()), actor=actor,
        since=parse_when(since, "--since", now) if since else None,
        until=parse_when(until, "--until", now) if until else None,
        correlation_id=correlation, limit=limit, newest_first=limit is not None,
    )
    # The backlog ends at the head read first, and following starts right after it, so an
    # event appended meanwhile is printed once (by the follow loop), never skipped.
    head = app.store.head()[0]
    events = list(app.store.read(replace(flt, until_position=head)))
    if flt.newest_first:
        events.reverse()
    printer = _Printer(json)
    for rec in events:
        printer.show(rec)
    if not follow:
        printer.close(len(events))
        return
    last = head
    live = replace(flt, limit=None, newest_first=False)
    try:
        while True:
            for rec in app.store.read(replace(live, after_position=last)):
                printer.show(rec)
                last = rec.position
            time.sleep(FOLLOW_POLL_S)
    except KeyboardInterrupt:
        return


class _Printer:
    def __init__(self, as_json: bool) -> None:
        self.as_json, self.header_done = as_json, False

    def show(self, rec: RecordedEvent) -> None:
        from gpumod.adapters.cli.render import event_header, event_line
        from gpumod.events import codec

        if self.as_json:
            typer.echo(codec.dumps(rec.as_dict()))
            return
        if not self.header_done:
            typer.echo(event_header())
            self.header_done = True
        typer.echo(event_line(rec))

    def close(self, count: int) -> None:
        if not self.as_json and count == 0:
            typer.echo("no events match")
