"""Which process backend runs services: `--process-backend direct|systemd`, or chosen here."""

from __future__ import annotations

from pathlib import Path

from gpumod.adapters.process.base import ProcessBackend, ProcessError
from gpumod.adapters.process.direct import DirectBackend

NAMES = ("direct", "systemd")


def choose_backend(name: str | None, state_dir: Path) -> ProcessBackend:
    """`name` as given on the command line; None chooses for this machine."""
    if name is None:
        # Auto will prefer systemd where `systemctl --user` works, once that backend exists;
        # until then direct is the only backend that can run anything.
        return DirectBackend(state_dir)
    if name == "direct":
        return DirectBackend(state_dir)
    if name == "systemd":
        raise ProcessError("the systemd process backend is not available yet; "
                           "use --process-backend direct")
    raise ValueError(f"--process-backend {name!r}: expected one of {', '.join(NAMES)}")
