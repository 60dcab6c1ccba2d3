"""Events about the log itself and about commands that were refused."""

from __future__ import annotations

from typing import Any, ClassVar

from gpumod.events.base import Event
from gpumod.events.registry import registered, upcaster


@registered
class StoreInitialized(Event):
    """`gpumod init` initialised the log (recorded once, by the first init)."""

    type_name: ClassVar[str] = "StoreInitialized"
    gpumod_version: str

    def stream(self) -> str:
        return "store"


@registered
class CommandRejected(Event):
    """A command was refused by validation; recorded so the audit shows who tried what."""

    type_name: ClassVar[str] = "CommandRejected"
    schema_version: ClassVar[int] = 2
    command: str
    arguments: dict[str, Any]
    reason: str
    code: str

    def stream(self) -> str:
        return "rejections"


@upcaster("CommandRejected", from_version=1)
def _rejection_gains_code(data: dict[str, Any]) -> dict[str, Any]:
    # v1 (gpumod 0.0.x) only had free-text reasons; `code` lets tools filter them.
    return {**data, "code": "unspecified"}
