"""What a caller reads when a tool fails: the argument at fault or the refusal, never a path.

Expected failures (a refused command, a failed step, a bad argument) become a ToolError with a
message the assistant can act on. Anything else propagates to the SDK, which answers only
"Error executing tool NAME" and logs the traceback on the server's stderr.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError

from gpumod.adapters.gpu.base import GpuUnavailable
from gpumod.commands.errors import Rejected
from gpumod.commands.machine import ActionFailed, GpuBusy
from gpumod.commands.postmortem import NoSuchIncident
from gpumod.commands.simulate import SimulationError
from gpumod.events.errors import EventStoreError

P = ParamSpec("P")
R = TypeVar("R")

# The argument a refusal is about, so the message starts by naming it.
ARGUMENT_OF = {"unknown_service": "service_id", "unknown_mode": "mode_id",
               "bad_sleep_level": "level", "sleep_unsupported": "service_id"}
# Absolute file-system paths (not URL paths such as /health): a root folder and one more part.
PATH = re.compile(r"(?<![\w.:/-])/(?:home|root|tmp|var|usr|opt|etc|run|srv|mnt|media|work|"
                  r"proc|dev|sys|lib|nix|snap|Users|private)(?:/[^\s'\",;:()]*)+")


class ArgumentError(ValueError):
    """An argument the tool cannot use: which one, and what it accepts."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument


def scrub(text: str) -> str:
    """The text without file-system paths: they say nothing to a remote caller."""
    return PATH.sub("<path>", text)


def message_of(exc: Exception) -> str | None:
    """The caller's message for an expected failure; None for a bug."""
    if isinstance(exc, Rejected):
        argument = ARGUMENT_OF.get(exc.code)
        prefix = f"{argument}: " if argument else ""
        return scrub(f"{prefix}{exc.reason} [refused: {exc.code}; recorded in the log]")
    if isinstance(exc, ActionFailed):
        return scrub(f"{exc} [failed step recorded in the log]")
    if isinstance(exc, ArgumentError | GpuBusy | GpuUnavailable | EventStoreError
                  | NoSuchIncident | SimulationError):
        return scrub(str(exc))
    return None


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn` with its expected failures turned into ToolErrors; signature kept for the schema."""
    if inspect.iscoroutinefunction(fn):
        run: Callable[P, Awaitable[Any]] = fn

        @functools.wraps(fn)
        async def guarded_async(*args: P.args, **kwargs: P.kwargs) -> Any:
            try:
                return await run(*args, **kwargs)
            except Exception as exc:
                if (message := message_of(exc)) is None:
                    raise
                raise ToolError(message) from None

        return guarded_async  # type: ignore[return-value]

    @functools.wraps(fn)
    def guarded_sync(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if (message := message_of(exc)) is None:
                raise
            raise ToolError(message) from None

    return guarded_sync


def not_found(what: str, key: str, known: list[str]) -> ResourceNotFoundError:
    shown = ", ".join(known[:50]) + (", …" if len(known) > 50 else "")
    return ResourceNotFoundError(f"no {what} {key!r} (known: {shown or 'none'})")
