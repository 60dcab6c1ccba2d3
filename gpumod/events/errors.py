"""What can go wrong when writing to or reading from the log."""

from __future__ import annotations


class EventStoreError(Exception):
    pass


class WrongExpectedVersion(EventStoreError):
    """Another writer appended to the stream since this command read it."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream!r} is at version {actual}, but this write expected {expected}: "
            "another gpumod process changed it first; nothing was written"
        )
        self.stream, self.expected, self.actual = stream, expected, actual


class DuplicateEventId(EventStoreError):
    """Some, not all, of a batch's event ids are already recorded: not a plain retry."""


class StoreNotEmpty(EventStoreError):
    pass


class ChainBroken(EventStoreError):
    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"hash chain broken at position {position}: {reason}")
        self.position, self.reason = position, reason
