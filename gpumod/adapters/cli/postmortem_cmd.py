"""`gpumod postmortem [CORRELATION_ID | --last-failure] [--json]`: one switch or incident,
step by step, as a table for people or JSON for tools."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gpumod.adapters.cli.context import app_of, emit_json

BULKY = ("log_tail", "processes", "samples", "service_id", "switch_id")  # shown elsewhere


def register(app: typer.Typer) -> None:
    app.command("postmortem")(postmortem)


def postmortem(
    ctx: typer.Context,
    correlation_id: Annotated[str | None, typer.Argument(
        help="The operation to examine (a correlation id, or a switch id).")] = None,
    last_failure: Annotated[bool, typer.Option(
        "--last-failure", help="The latest failed switch, start, crash, OOM or VRAM refusal "
        "(also the default without an id).")] = False,
    json: Annotated[bool, typer.Option("--json", help="The report as one JSON object.")] = False,
) -> None:
    """The timeline of one switch or incident: durations, VRAM, protection fired, log tail."""
    from gpumod.adapters.cli.errors import UsageError
    from gpumod.commands.postmortem import postmortem_report

    if last_failure and correlation_id:
        raise UsageError("give a correlation id or --last-failure, not both")
    report = postmortem_report(app_of(ctx).store, correlation_id)
    if json:
        emit_json(report)
    else:
        typer.echo(human(report))


def human(report: dict[str, Any]) -> str:
    from gpumod.adapters.cli.render import summary, table

    rows = [(s["at"][11:23], _duration(s["duration_ms"]), s["type"], s["service_id"] or "",
             _mb(s["free_mb"]), _mb(s["used_mb"]), _mb(s["needed_mb"]),
             summary(_details(s["detail"]), 60))
            for s in report["steps"]]
    parts = [_title(report), "",
             table(("TIME (UTC)", "DURATION", "STEP", "SERVICE", "FREE MB", "USED MB",
                    "NEED MB", "DETAILS"), rows),
             "(VRAM: the latest reading at or before each step)"]
    if report["services"]:
        parts += ["", "Reserved vs measured VRAM:", table(
            ("SERVICE", "RESERVED MB", "MEASURED MB"),
            [(s["service_id"], _mb(s["reserved_mb"]), _mb(s["measured_mb"]))
             for s in report["services"]])]
    parts += ["", _protection_line(report), *_oom_lines(report), *_failure_lines(report)]
    return "\n".join(parts)


def _title(report: dict[str, Any]) -> str:
    switch = report["switch"]
    what = (f"switch {switch['from_mode'] or '(none)'} -> {switch['to_mode']}" if switch
            else report["command"] or "operation")
    return (f"Post-mortem of {what} [{report['correlation_id']}]: {report['outcome']}, "
            f"{_duration(report['duration_ms'])} from {report['started_at'][:23]}")


def _protection_line(report: dict[str, Any]) -> str:
    fired = report["protection"]
    if fired is None:
        after = " (the out-of-memory came after the VRAM checks passed)" if report["oom"] else ""
        return f"Protection fired: none{after}"
    return f"Protection fired: {fired['name']} (#{fired['position']} {fired['type']}): " \
           f"{fired['reason']}"


def _oom_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    for oom in report["oom"]:
        processes = ", ".join(f"pid {p['pid']} {p.get('name') or '?'} {p['used_mb']} MB"
                              for p in oom["processes"]) or "none"
        lines.append(f"Out of memory: {oom['service_id']} (evidence: {oom['evidence']}), needed "
                     f"{_mb(oom['needed_mb'])} MB, {oom['free_mb']} MB free of "
                     f"{oom['total_mb']} MB; GPU processes: {processes}")
    return lines


def _failure_lines(report: dict[str, Any]) -> list[str]:
    failed = report["failure"]
    if failed is None:
        return []
    code = f", exit code {failed['exit_code']}" if failed["exit_code"] is not None else ""
    lines = [f"Failed: {failed['service_id']} ({failed['type']}): "
             f"{failed['reason'] or 'the process exited'}{code}"]
    if failed["log_tail"]:
        lines += [f"Log tail of {failed['service_id']}:",
                  *(f"  | {line}" for line in failed["log_tail"])]
    return lines


def _details(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in BULKY and v not in (None, [], {})}


def _mb(value: int | None) -> str:
    return "-" if value is None else str(value)


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.2f} s"
