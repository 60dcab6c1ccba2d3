"""Commands: what a user or assistant asks gpumod to do, named in the imperative."""

from __future__ import annotations

from dataclasses import dataclass

from gpumod.definitions import ModeDefinition, ServiceDefinition


@dataclass(frozen=True)
class Command:
    def arguments(self) -> dict[str, object]:
        """What the audit records of this command's arguments."""
        return {}


@dataclass(frozen=True)
class InitStore(Command):
    pass


@dataclass(frozen=True)
class Sourced:
    """A definition and the file it came from."""

    source: str | None


@dataclass(frozen=True)
class ServiceFile(Sourced):
    definition: ServiceDefinition


@dataclass(frozen=True)
class ModeFile(Sourced):
    definition: ModeDefinition


@dataclass(frozen=True)
class ImportConfiguration(Command):
    """Register or update services and modes; unchanged ones record nothing."""

    services: tuple[ServiceFile, ...] = ()
    modes: tuple[ModeFile, ...] = ()
    initialize: bool = False

    def arguments(self) -> dict[str, object]:
        return {"services": [s.source or s.definition.id for s in self.services],
                "modes": [m.source or m.definition.id for m in self.modes]}


@dataclass(frozen=True)
class RemoveService(Command):
    service_id: str

    def arguments(self) -> dict[str, object]:
        return {"service_id": self.service_id}


@dataclass(frozen=True)
class RemoveMode(Command):
    mode_id: str

    def arguments(self) -> dict[str, object]:
        return {"mode_id": self.mode_id}
