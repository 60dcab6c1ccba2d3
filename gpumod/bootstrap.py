"""Wiring: the one place that chooses real or fake adapters, for the CLI, MCP and tests alike."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gpumod.commands.bus import CommandBus
from gpumod.events.store import EventStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


def default_db_path() -> Path:
    if env := os.environ.get("GPUMOD_DB"):
        return Path(env).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "gpumod" / "gpumod.db"


@dataclass(frozen=True)
class App:
    store: EventStore
    bus: CommandBus
    clock: Clock


def bootstrap(
    db_path: Path | None = None, clock: Clock = utc_now, new_id: Callable[[], str] = new_uuid
) -> App:
    store = EventStore.open(db_path or default_db_path(), clock)
    return App(store=store, bus=CommandBus(store, new_id), clock=clock)
