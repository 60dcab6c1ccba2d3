"""`gpumod init`, `service add|remove|list|status`, `mode create|remove|list`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gpumod.adapters.cli.context import app_of, cli_origin, emit_json
from gpumod.adapters.cli.render import table

if TYPE_CHECKING:
    from gpumod.events.base import RecordedEvent

JSON = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def register(app: typer.Typer, service_app: typer.Typer, mode_app: typer.Typer) -> None:
    app.command("init")(init)
    service_app.command("add")(service_add)
    service_app.command("remove")(service_remove)
    service_app.command("list")(service_list)
    service_app.command("status")(service_status)
    mode_app.command("create")(mode_create)
    mode_app.command("remove")(mode_remove)
    mode_app.command("list")(mode_list)


def init(
    ctx: typer.Context,
    preset_dir: Annotated[list[Path] | None, typer.Option(
        "--preset-dir", help="Folder of preset YAML files to register (repeatable).")] = None,
    mode_dir: Annotated[list[Path] | None, typer.Option(
        "--mode-dir", help="Folder of mode YAML files to define (repeatable).")] = None,
) -> None:
    """Create the log (if needed) and import presets and modes, all in one transaction."""
    from gpumod.adapters.yaml_files import load_mode, load_service, yaml_files
    from gpumod.commands.messages import ImportConfiguration

    services = [load_service(p) for d in preset_dir or [] for p in yaml_files(d)]
    modes = [load_mode(p) for d in mode_dir or [] for p in yaml_files(d)]
    command = ImportConfiguration(tuple(services), tuple(modes), initialize=True)
    app = app_of(ctx)
    _report(app.bus.handle(command, cli_origin()))
    typer.echo(f"event log: {app.store.path}")


def service_add(files: Annotated[list[Path], typer.Argument(help="Preset YAML files.")],
                ctx: typer.Context) -> None:
    """Register services from presets; a changed preset records only what changed."""
    from gpumod.adapters.yaml_files import load_service
    from gpumod.commands.messages import ImportConfiguration

    command = ImportConfiguration(services=tuple(load_service(f) for f in files))
    _report(app_of(ctx).bus.handle(command, cli_origin()))


def service_remove(service_id: str, ctx: typer.Context) -> None:
    """Remove a stopped service that no mode uses."""
    from gpumod.commands.messages import RemoveService

    _report(app_of(ctx).bus.handle(RemoveService(service_id), cli_origin()))


def mode_create(file: Annotated[Path, typer.Argument(help="Mode YAML file.")],
                ctx: typer.Context) -> None:
    """Define a mode (or record what changed in it)."""
    from gpumod.adapters.yaml_files import load_mode
    from gpumod.commands.messages import ImportConfiguration

    command = ImportConfiguration(modes=(load_mode(file),))
    _report(app_of(ctx).bus.handle(command, cli_origin()))


def mode_remove(mode_id: str, ctx: typer.Context) -> None:
    """Remove a mode that is not active."""
    from gpumod.commands.messages import RemoveMode

    _report(app_of(ctx).bus.handle(RemoveMode(mode_id), cli_origin()))


def service_list(ctx: typer.Context, json: JSON = False) -> None:
    """Registered services with their state."""
    from gpumod.adapters.cli import views
    from gpumod.commands.current_state import current_state

    rows = views.services(current_state(app_of(ctx).store))
    if json:
        emit_json(rows)
        return
    typer.echo(table(("ID", "DRIVER", "PORT", "VRAM MB", "SLEEP", "STATE", "SINCE"), [
        (r["id"], r["driver"], r["port"], r["vram_mb"], r["sleep_mode"], r["state"],
         (r["since"] or "")[:19].replace("T", " ")) for r in rows]))


def service_status(service_id: str, ctx: typer.Context, json: JSON = False) -> None:
    """One service: its state, definition and VRAM figures."""
    from gpumod.adapters.cli import views
    from gpumod.adapters.cli.errors import UsageError
    from gpumod.commands.current_state import current_state

    state = current_state(app_of(ctx).store)
    if service_id not in state.services:
        raise UsageError(f"argument SERVICE_ID: no service {service_id!r} is registered "
                         f"(registered: {', '.join(sorted(state.services)) or 'none'})")
    info = views.service_detail(state, service_id)
    if json:
        emit_json(info)
        return
    for key, value in info.items():
        typer.echo(f"{key + ':':<20}{_flat(value)}")


def mode_list(ctx: typer.Context, json: JSON = False) -> None:
    """Defined modes, their services and the VRAM they need."""
    from gpumod.adapters.cli import views
    from gpumod.commands.current_state import current_state

    rows = views.modes(current_state(app_of(ctx).store))
    if json:
        emit_json(rows)
        return
    typer.echo(table(("ID", "NAME", "SERVICES", "VRAM MB", "ACTIVE"), [
        (r["id"], r["name"], ",".join(r["services"]), r["vram_mb"], "*" if r["active"] else "")
        for r in rows]))


def _report(recorded: list[RecordedEvent]) -> None:
    if not recorded:
        typer.echo("nothing changed: no event recorded")
        return
    for rec in recorded:
        typer.echo(f"recorded #{rec.position} {rec.type} ({rec.stream})")


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)
