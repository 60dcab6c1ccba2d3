"""Which exceptions are the user's to read (a message) and which are bugs (a traceback)."""

from __future__ import annotations


def explain(exc: Exception) -> str | None:
    from gpumod.adapters.gpu.base import GpuUnavailable
    from gpumod.adapters.locks import LockBusy
    from gpumod.adapters.process.base import ProcessError
    from gpumod.adapters.yaml_files import DefinitionError
    from gpumod.commands.errors import Rejected
    from gpumod.commands.machine import ActionFailed
    from gpumod.events.errors import EventStoreError

    if isinstance(exc, Rejected):
        return f"{exc.reason} [refused: {exc.code}; recorded in the log]"
    if isinstance(exc, ActionFailed):
        return f"{exc} [recorded in the log]"
    if isinstance(exc, DefinitionError | EventStoreError | UsageError | GpuUnavailable
                  | LockBusy | ProcessError | ValueError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return None


class UsageError(ValueError):
    """An argument that cannot be used; the message names it and says what would be."""
