"""`gpumod status`: the GPU, its VRAM, the active mode, and every service's state and memory."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gpumod.adapters.cli.context import app_of, emit_json

BAR_WIDTH = 40


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    visual: Annotated[bool, typer.Option("--visual", help="Draw the VRAM bar per service.")]
    = False,
) -> None:
    """What runs now, and how much VRAM each service reserves and really holds."""
    from gpumod.commands.current_state import current_state
    from gpumod.commands.reports import system_status

    app = app_of(ctx)
    machine = app.machine()
    report = system_status(current_state(app.store), machine)
    if json:
        emit_json(report)
        return
    typer.echo(_text(report, visual))


def _text(report: dict[str, Any], visual: bool) -> str:
    from gpumod.adapters.cli.render import table

    gpu = report["gpu"]
    label = " (simulated GPU)" if gpu["simulated"] and "simulated" not in gpu["name"] else ""
    lines = [f"GPU: {gpu['name']}{label}, driver {gpu['driver_version']}",
             f"VRAM: {gpu['used_mb']} / {gpu['total_mb']} MB used, {gpu['free_mb']} MB free",
             _bar(gpu, report["services"] if visual else []),
             f"mode: {report['active_mode'] or '-'}"
             + (f" (switch in progress: {report['switch_in_progress']})"
                if report["switch_in_progress"] else ""), ""]
    lines.append(table(("SERVICE", "STATE", "RESERVED MB", "OBSERVED MB", "PID", "SINCE"), [
        (s["id"], s["state"], s["reserved_mb"] or "", s["observed_mb"] or "", s["pid"] or "",
         (s["since"] or "")[:19].replace("T", " ")) for s in report["services"]]))
    return "\n".join(lines)


def _bar(gpu: dict[str, Any], services: list[dict[str, Any]]) -> str:
    total: int = max(gpu["total_mb"], 1)
    cells, legend = "", []
    for index, service in enumerate(s for s in services if s["observed_mb"]):
        mark = chr(ord("A") + index % 26)
        cells += mark * round(service["observed_mb"] / total * BAR_WIDTH)
        legend.append(f"{mark}={service['id']}")
    used = round(gpu["used_mb"] / total * BAR_WIDTH)
    cells += "#" * max(used - len(cells), 0)
    bar = "[" + cells[:BAR_WIDTH].ljust(BAR_WIDTH, ".") + f"] {gpu['used_mb'] * 100 // total}%"
    return str(bar) + ("  " + " ".join(legend) if legend else "")
