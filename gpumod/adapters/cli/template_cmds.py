"""`gpumod template generate|install ID`: a registered service as a systemd user unit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gpumod.adapters.cli.context import app_of

if TYPE_CHECKING:
    from gpumod.adapters.process.systemd import SystemdBackend
    from gpumod.bootstrap import App


def register(app: typer.Typer) -> None:
    template_app = typer.Typer(help="systemd user units for registered services.",
                               no_args_is_help=True)
    template_app.command("generate")(generate)
    template_app.command("install")(install)
    app.add_typer(template_app, name="template")


def generate(service_id: str, ctx: typer.Context) -> None:
    """Print the unit that runs a service's real server (the one `install` writes)."""
    from gpumod.adapters.process.systemd import SystemdBackend

    app = app_of(ctx)
    typer.echo(_unit_text(app, SystemdBackend(app.state_dir), service_id), nl=False)


def install(
    service_id: str, ctx: typer.Context,
    yes: Annotated[bool, typer.Option(
        "--yes", help="Write the unit and run `systemctl --user daemon-reload`.")] = False,
) -> None:
    """Write a service's unit into the user's systemd folder and reload the user manager."""
    from gpumod.adapters.cli.errors import UsageError
    from gpumod.adapters.process.systemd import SystemdBackend

    app = app_of(ctx)
    backend = SystemdBackend(app.state_dir)
    text = _unit_text(app, backend, service_id)
    path = backend.unit_file(service_id)
    if not yes:
        raise UsageError(f"nothing written: this would write {path} (the unit that `gpumod "
                         f"template generate {service_id}` prints) and run `systemctl --user "
                         f"daemon-reload`; add --yes to do it")
    written = backend.install(service_id, text)
    typer.echo(f"{'wrote' if written else 'unchanged:'} {path}")
    backend.daemon_reload()
    typer.echo("ran systemctl --user daemon-reload")


def _unit_text(app: App, backend: SystemdBackend, service_id: str) -> str:
    from gpumod.adapters.cli.errors import UsageError
    from gpumod.adapters.process.units import unit_for_definition
    from gpumod.commands.current_state import current_state

    state = current_state(app.store)
    if service_id not in state.services:
        raise UsageError(f"argument SERVICE_ID: no service {service_id!r} is registered "
                         f"(registered: {', '.join(sorted(state.services)) or 'none'})")
    definition = dict(state.services[service_id].definition)
    return unit_for_definition(definition, backend.log_file(service_id))
