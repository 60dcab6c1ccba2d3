"""Resources: the help text, modes, services, models and the log, as JSON documents."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from gpumod.adapters.cli import views
from gpumod.adapters.mcp import models
from gpumod.adapters.mcp.errors import not_found
from gpumod.adapters.mcp.help import help_text
from gpumod.adapters.mcp.runtime import Runtime
from gpumod.events.query import EventFilter

JSON = "application/json"
RECENT = 50


def register(server: MCPServer, rt: Runtime) -> None:
    docs = Documents(server, rt)
    table = (
        ("gpumod://help", docs.help, "How to use this server: tools, resources, event types.",
         "text/markdown"),
        ("gpumod://modes", docs.modes, "Every defined mode, its services and VRAM.", JSON),
        ("gpumod://modes/{mode_id}", docs.mode, "One mode, with its services' states.", JSON),
        ("gpumod://services", docs.services, "Every registered service and its state.", JSON),
        ("gpumod://services/{service_id}", docs.service, "One service: state and preset.", JSON),
        ("gpumod://models", docs.models, "Models the presets name, and who serves them.", JSON),
        ("gpumod://history/recent", docs.recent, f"The last {RECENT} events recorded.", JSON),
        ("gpumod://events/{position}", docs.event, "One event, by its position in the log.",
         JSON),
    )
    for uri, read, description, mime in table:
        name = uri.removeprefix("gpumod://").replace("/{", "-").replace("}", "").replace("/", "-")
        server.resource(uri, name=name, description=description, mime_type=mime)(read)


class Documents:
    def __init__(self, server: MCPServer, rt: Runtime) -> None:
        self.server, self.rt = server, rt

    async def help(self) -> str:
        return help_text(await self.server.list_tools(), await self.server.list_resources(),
                         await self.server.list_resource_templates())

    def modes(self) -> list[dict[str, Any]]:
        return views.modes(self.rt.state())

    def mode(self, mode_id: str) -> dict[str, Any]:
        state = self.rt.state()
        if mode_id not in state.modes:
            raise not_found("mode", mode_id, sorted(state.modes))
        row = next(m for m in views.modes(state) if m["id"] == mode_id)
        members = set(row["services"])
        return row | {"service_states": [s for s in views.services(state) if s["id"] in members]}

    def services(self) -> list[dict[str, Any]]:
        return views.services(self.rt.state())

    def service(self, service_id: str) -> dict[str, Any]:
        state = self.rt.state()
        if service_id not in state.services:
            raise not_found("service", service_id, sorted(state.services))
        return views.service_detail(state, service_id)

    def models(self) -> list[Any]:
        return list(models.models(self.rt.state()))

    def recent(self) -> list[dict[str, Any]]:
        events = list(self.rt.app.store.read(EventFilter(limit=RECENT, newest_first=True)))
        return [e.as_dict() for e in reversed(events)]

    def event(self, position: str) -> dict[str, Any]:
        head = self.rt.app.store.head()[0]
        if not position.isdigit() or not 1 <= int(position) <= head:
            raise not_found("event at position", position, [f"1..{head}"] if head else [])
        (event,) = self.rt.app.store.read(EventFilter(after_position=int(position) - 1, limit=1))
        return event.as_dict()
