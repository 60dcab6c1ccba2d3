"""`gpumod audit verify`, `gpumod events export|import`."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gpumod.adapters.cli.context import app_of


class Format(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def register(audit_app: typer.Typer, events_app: typer.Typer) -> None:
    audit_app.command("verify")(verify)
    events_app.command("export")(export)
    events_app.command("import")(import_)


def verify(ctx: typer.Context) -> None:
    """Re-hash the whole chain: exit 0 if intact, 1 naming the first bad position."""
    from gpumod.events.chain import verify_store
    from gpumod.events.errors import ChainBroken

    try:
        verified = verify_store(app_of(ctx).store)
    except ChainBroken as broken:
        typer.echo(f"BROKEN at position {broken.position}: {broken.reason}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"ok: {verified.count} events, hash chain intact (head {verified.head_hash})")


def export(
    ctx: typer.Context,
    format_: Annotated[Format, typer.Option("--format", help="jsonl or csv.")] = Format.JSONL,
    output: Annotated[Path | None, typer.Option(help="File to write [default: stdout].")] = None,
) -> None:
    """Write every event, hashes included, so `events import` can rebuild the same log."""
    from gpumod.events.transfer import export_rows, write_csv, write_jsonl

    writer = write_jsonl if format_ is Format.JSONL else write_csv
    rows = export_rows(app_of(ctx).store)
    if output is None:
        writer(rows, sys.stdout)
        return
    partial = output.with_name(output.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        count = writer(rows, out)
    partial.replace(output)  # never leave a half-written export under the real name
    typer.echo(f"exported {count} events to {output}", err=True)


def import_(file: Annotated[Path, typer.Argument(help="An export (JSONL or CSV).")],
            ctx: typer.Context) -> None:
    """Load an export into an empty database, after checking its hash chain."""
    from gpumod.events.export_files import iter_file
    from gpumod.events.transfer import import_rows

    verified = import_rows(app_of(ctx).store, iter_file(file))
    typer.echo(f"imported {verified.count} events (head {verified.head_hash})")
