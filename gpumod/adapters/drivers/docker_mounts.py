"""A docker preset's `extra_config.volumes`: host folders only under an allow-list.

Accepted forms: `{HOST: CONTAINER}` (the original gpumod docs' form) or `["HOST:CONTAINER"]`,
CONTAINER optionally ending in `:ro` or `:rw`. HOST is an absolute path (`~` and `$HOME`
expanded) or the name of a Docker volume. Host paths are resolved (symbolic links followed) and
must lie under one of the allowed roots: `GPUMOD_DOCKER_MOUNT_ROOTS` (folders separated by ':'),
else $HOME and /tmp. Sockets are refused wherever they are: the engine's own socket would give
the container the host.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gpumod.adapters.drivers import validation as v
from gpumod.adapters.process.container_spec import Mount

ROOTS_VARIABLE = "GPUMOD_DOCKER_MOUNT_ROOTS"
WHAT = "extra_config.volumes"
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def mounts(value: Any) -> tuple[Mount, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        pairs = [(str(host), v.text(target, f"{WHAT}[{host!r}]")) for host, target in value.items()]
    elif isinstance(value, list):
        pairs = [_split(v.text(item, WHAT)) for item in value]
    else:
        raise ValueError(f"{WHAT} must be a mapping {{HOST: CONTAINER}} or a list of "
                         f"'HOST:CONTAINER' strings, not {value!r}")
    return tuple(_mount(host, target) for host, target in pairs)


def allowed_roots() -> tuple[Path, ...]:
    raw = os.environ.get(ROOTS_VARIABLE)
    if raw is None:
        return (Path(os.environ.get("HOME") or Path.home()), Path("/tmp"))
    roots = [part for part in raw.split(":") if part]
    for root in roots:
        if not root.startswith("/"):
            raise ValueError(f"{ROOTS_VARIABLE}: {root!r} is not an absolute path")
    return tuple(Path(root) for root in roots)


def check_sources_exist(found: tuple[Mount, ...]) -> None:
    """At launch: a missing host folder would be made by the engine (as root), so refuse it."""
    for mount in found:
        if not mount.named_volume and not os.path.exists(mount.source):
            raise ValueError(f"{WHAT}: host path {mount.source} does not exist; create it first")


def _split(item: str) -> tuple[str, str]:
    host, sep, target = item.partition(":")
    if not sep:
        raise ValueError(f"{WHAT}: {item!r} must be 'HOST:CONTAINER[:ro]'")
    return host, target


def _mount(host: str, target: str) -> Mount:
    path, _, mode = target.partition(":")
    if mode not in ("", "ro", "rw"):
        raise ValueError(f"{WHAT}: {target!r}: the mode after ':' must be ro or rw")
    if not path.startswith("/"):
        raise ValueError(f"{WHAT}: the container path {path!r} must be absolute")
    read_only = mode == "ro"
    if _VOLUME_NAME.fullmatch(host):
        return Mount(host, path, read_only, named_volume=True)
    source = v.path(host, f"{WHAT} host path")
    if not source.startswith("/"):
        raise ValueError(f"{WHAT}: host path {host!r} must be absolute (or start with ~), or "
                         "be the name of a Docker volume")
    return Mount(_allowed(source), path, read_only)


def _allowed(source: str) -> str:
    resolved = Path(os.path.realpath(source))
    roots = allowed_roots()
    if not any(resolved.is_relative_to(os.path.realpath(root)) for root in roots):
        raise ValueError(
            f"{WHAT}: host path {source} (resolved: {resolved}) is outside the allowed roots "
            f"({', '.join(str(r) for r in roots)}); set {ROOTS_VARIABLE} to allow another "
            "folder")
    if resolved.exists() and stat.S_ISSOCK(resolved.stat().st_mode):
        raise ValueError(f"{WHAT}: host path {source} is a socket; mounting sockets (such as "
                         "the Docker engine's) is refused")
    return str(resolved)
