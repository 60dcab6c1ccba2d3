"""Which process backend runs services: `--process-backend direct|systemd`, or chosen here."""

from __future__ import annotations

from pathlib import Path

from gpumod.adapters.process.base import ProcessBackend, ProcessError
from gpumod.adapters.process.direct import DirectBackend

NAMES = ("direct", "systemd")


def choose_backend(name: str | None, state_dir: Path) -> ProcessBackend:
    """`name` as given on the command line; None: systemd where a user manager answers
    `systemctl --user`, else direct (containers, CI, root shells without a login session)."""
    from gpumod.adapters.process.systemd import SystemdBackend, systemd_problem

    if name not in (None, *NAMES):
        raise ValueError(f"--process-backend {name!r}: expected one of {', '.join(NAMES)}")
    if name == "direct":
        return DirectBackend(state_dir)
    problem = systemd_problem()
    if problem is None:
        return SystemdBackend(state_dir)
    if name is None:
        return DirectBackend(state_dir)
    raise ProcessError(f"the systemd process backend needs a user manager, but "
                       f"`systemctl --user` fails here ({problem}); use --process-backend direct")
