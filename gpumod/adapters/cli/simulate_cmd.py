"""`gpumod simulate mode ID` / `simulate services IDS`: would it fit, and what would make it fit.

Appends nothing: a simulation reads the log and the GPU, and only prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from gpumod.adapters.cli.context import app_of, emit_json
from gpumod.adapters.cli.errors import UsageError

if TYPE_CHECKING:
    from gpumod.bootstrap import App

simulate_app = typer.Typer(help="Check whether a mode or services would fit, appending nothing.",
                           no_args_is_help=True)
Ids = Annotated[list[str] | None, typer.Option(help="Service ids, comma-separated or repeated.")]
Contexts = Annotated[list[str] | None, typer.Option(
    "--context", help="ID=TOKENS: simulate a service with another context size (repeatable).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Visual = Annotated[bool, typer.Option("--visual", help="Draw the VRAM it would use.")]


@simulate_app.command("mode")
def mode(mode_id: str, ctx: typer.Context, add: Ids = None, remove: Ids = None,
         context: Contexts = None, json: Json = False, visual: Visual = False) -> None:
    """Would this mode fit, counting what runs now and what a switch would stop or sleep?"""
    from gpumod.commands.switch_plan import mode_services

    app = app_of(ctx)
    state = _state(app)
    services = _try(lambda: mode_services(state, mode_id))
    dropped = _ids(remove)
    services = [s for s in services if s not in dropped] + [
        s for s in _ids(add) if s not in services]
    _show(app, state, mode_id, services, context, json, visual)


@simulate_app.command("services")
def services(ids: Annotated[list[str], typer.Argument(help="Service ids (the whole target).")],
             ctx: typer.Context, context: Contexts = None, json: Json = False,
             visual: Visual = False) -> None:
    """Would exactly these services fit, if everything else were stopped or slept?"""
    app = app_of(ctx)
    _show(app, _state(app), "(services)", _ids(ids), context, json, visual)


def _show(app: App, state: Any, label: str, target: list[str], contexts: list[str] | None,
          json: bool, visual: bool) -> None:
    from gpumod.commands.sagas.switch import footprint
    from gpumod.commands.simulate import simulate
    from gpumod.commands.switch_plan import with_dependencies
    from gpumod.commands.switch_reports import simulation_dict

    unknown = [s for s in target if s not in state.services]
    if unknown:
        raise UsageError(f"unknown service(s): {', '.join(unknown)} "
                         f"(registered: {', '.join(sorted(state.services)) or 'none'})")
    now = footprint(app.machine(), state)
    full = _try(lambda: with_dependencies(state, target))
    report = simulation_dict(simulate(state, now, label, full, _contexts(contexts)))
    if json:
        emit_json(report)
    else:
        from gpumod.adapters.cli.simulate_view import text

        typer.echo(text(report, visual))
    if not report["fits"]:
        raise typer.Exit(2)  # scripts can tell "does not fit" from an error (1)


def _state(app: App) -> Any:
    from gpumod.commands.current_state import current_state

    return current_state(app.store)


def _try(call: Any) -> Any:
    from gpumod.commands.errors import Rejected

    try:
        return call()
    except Rejected as rejected:
        raise UsageError(rejected.reason) from None


def _ids(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def _contexts(values: list[str] | None) -> dict[str, int]:
    out = {}
    for value in values or []:
        sid, _, tokens = value.partition("=")
        if not tokens.strip().isdigit():
            raise UsageError(f"--context {value!r}: expected ID=TOKENS, e.g. qwen3-coder=16384")
        out[sid.strip()] = int(tokens)
    return out
