"""What appliers read of an event besides its fields: where and when it was recorded."""

from __future__ import annotations

from typing import Protocol


class Envelope(Protocol):
    """A RecordedEvent, or a FoldRow read straight from the log (gpumod/events/fold_rows.py)."""

    @property
    def position(self) -> int: ...

    @property
    def stream(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def schema_version(self) -> int: ...

    @property
    def recorded_at(self) -> str: ...

    @property
    def correlation_id(self) -> str | None: ...
