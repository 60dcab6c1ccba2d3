"""The `gpumod` command: global options, sub-command groups, and how errors end a run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gpumod.adapters.cli import (
    config_cmds,
    history_cmd,
    lifecycle_cmds,
    log_cmds,
    mcp_cmd,
    monitor_cmd,
    postmortem_cmd,
    replay_cmd,
    status_cmd,
    switch_cmds,
    template_cmds,
)
from gpumod.adapters.cli.context import Settings
from gpumod.adapters.cli.simulate_cmd import simulate_app

app = typer.Typer(
    help="gpumod: run inference services that share one GPU, with every change recorded.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
service_app = typer.Typer(help="Register, inspect and remove services (presets).",
                          no_args_is_help=True)
mode_app = typer.Typer(help="Define, switch, inspect and remove modes.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the log's integrity.", no_args_is_help=True)
events_app = typer.Typer(help="Export and import the event log.", no_args_is_help=True)


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option("--db", envvar="GPUMOD_DB", help="SQLite file of the event log "
                     "[default: ~/.config/gpumod/gpumod.db]"),
    ] = None,
    gpu: Annotated[str | None, typer.Option(
        "--gpu", envvar="GPUMOD_GPU",
        help="nvml (the real GPU) or sim:SIZE, e.g. sim:24GiB [default: nvml]")] = None,
    process_backend: Annotated[str | None, typer.Option(
        "--process-backend", envvar="GPUMOD_PROCESS_BACKEND",
        help="systemd or direct [default: systemd when usable, else direct]")] = None,
    stand_ins: Annotated[bool, typer.Option(
        "--stand-ins", envvar="GPUMOD_STAND_INS",
        help="Run stand-in servers instead of the real binaries (needs --gpu sim:...)")] = False,
) -> None:
    ctx.obj = Settings(db_path=db, gpu=gpu, process_backend=process_backend,
                       stand_ins=stand_ins)


config_cmds.register(app, service_app, mode_app)
lifecycle_cmds.register(service_app)
switch_cmds.register(app, mode_app)
status_cmd.register(app)
history_cmd.register(app)
replay_cmd.register(app)
template_cmds.register(app)
monitor_cmd.register(app)
mcp_cmd.register(app)
postmortem_cmd.register(app)
log_cmds.register(audit_app, events_app)
app.add_typer(service_app, name="service")
app.add_typer(mode_app, name="mode")
app.add_typer(simulate_app, name="simulate")
app.add_typer(audit_app, name="audit")
app.add_typer(events_app, name="events")


def run() -> None:
    """Entry point: a refused command or bad input ends with a message and a non-zero exit."""
    from gpumod.adapters.cli.errors import explain

    try:
        app()
    except Exception as exc:
        message = explain(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)
