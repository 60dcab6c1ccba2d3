"""What every sub-command needs: the settings from global options, and the wired app."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from gpumod.bootstrap import App
    from gpumod.commands.bus import Origin


@dataclass
class Settings:
    db_path: Path | None
    gpu: str | None = None
    process_backend: str | None = None
    stand_ins: bool = False


def app_of(ctx: typer.Context) -> App:
    from gpumod.bootstrap import MachineSettings, bootstrap

    settings: Settings = ctx.find_root().obj
    machine = MachineSettings(gpu=settings.gpu or "nvml", process_backend=settings.process_backend,
                              stand_ins=settings.stand_ins)
    return bootstrap(settings.db_path, settings=machine)


def cli_origin() -> Origin:
    from gpumod.commands.bus import Origin

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Origin(actor=f"cli:{user}")


def emit_json(value: object) -> None:
    import orjson

    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())
