"""Read-only tools about now: the GPU, services, modes, models, and what a mode would need."""

from __future__ import annotations

from typing import Any, cast

from mcp.server.mcpserver import MCPServer

from gpumod.adapters.cli import views
from gpumod.adapters.mcp import models
from gpumod.adapters.mcp.arguments import (
    AddServices,
    Contexts,
    ModeId,
    ModelId,
    RemoveServices,
    ServiceId,
)
from gpumod.adapters.mcp.errors import ArgumentError
from gpumod.adapters.mcp.outputs import GpuStatus, ModelInfo, ModeList, ServiceInfo, ServiceList
from gpumod.adapters.mcp.runtime import Runtime
from gpumod.adapters.mcp.toolbox import READS, add_tools
from gpumod.commands.errors import Rejected
from gpumod.commands.reports import system_status
from gpumod.commands.sagas.switch import footprint
from gpumod.commands.simulate import simulate
from gpumod.commands.switch_plan import mode_services, with_dependencies
from gpumod.commands.switch_reports import simulation_dict
from gpumod.projections.state import State


def register(server: MCPServer, rt: Runtime) -> None:
    tools = NowTools(rt)
    add_tools(server, (tools.gpu_status, tools.list_services, tools.list_modes,
                       tools.service_info, tools.model_info, tools.simulate_mode), READS)


def known_service(state: State, service_id: str, argument: str = "service_id") -> None:
    if service_id not in state.services:
        raise ArgumentError(argument, f"no service {service_id!r} is registered (registered: "
                            f"{', '.join(sorted(state.services)) or 'none'})")


class NowTools:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def gpu_status(self) -> GpuStatus:
        """The GPU now (name, VRAM total/used/free, its processes), the active mode, and each
        service's state with the VRAM it reserves and the VRAM its processes really hold."""
        return cast(GpuStatus, system_status(self.rt.state(), self.rt.machine()))

    def list_services(self) -> ServiceList:
        """Registered services (presets): driver, port, VRAM, sleep support, state, since."""
        return cast(ServiceList, {"services": views.services(self.rt.state())})

    def list_modes(self) -> ModeList:
        """Defined modes: their services, the VRAM they need together, which one is active."""
        state = self.rt.state()
        return cast(ModeList, {"active_mode": state.active_mode, "modes": views.modes(state)})

    def service_info(self, service_id: ServiceId) -> ServiceInfo:
        """One service: state, pid, sleep level, measured VRAM, last error, OOM count, the modes
        that use it, and its full preset."""
        state = self.rt.state()
        known_service(state, service_id)
        return cast(ServiceInfo, views.service_detail(state, service_id))

    def model_info(self, model_id: ModelId) -> ModelInfo:
        """One model: the services that serve it (driver, VRAM reserved and measured, context
        size, state) and the modes that use them."""
        return models.model_info(self.rt.state(), model_id)

    def simulate_mode(self, mode_id: ModeId, add: AddServices = None,
                      remove: RemoveServices = None, contexts: Contexts = None
                      ) -> dict[str, Any]:
        """Would this mode fit now? Counts free VRAM and what a switch would stop or sleep;
        returns the plan (stop, sleep, wake, start), each service's need, and, if it does not
        fit, alternatives that would (sleep, a shorter context, leaving a service out).
        `add`/`remove` change the mode's services; `contexts` tries other context sizes.
        Records nothing."""
        state = self.rt.state()
        for argument, ids in (("add", add or []), ("remove", remove or []),
                              ("contexts", list(contexts or {}))):
            for sid in ids:
                known_service(state, sid, argument)
        try:
            target = [s for s in mode_services(state, mode_id) if s not in (remove or [])]
            target += [s for s in add or [] if s not in target]
            full = with_dependencies(state, target)
        except Rejected as refused:  # unknown mode, or a dependency that cannot be met
            raise ArgumentError("mode_id", refused.reason) from None
        now = footprint(self.rt.machine(), state)
        return simulation_dict(simulate(state, now, mode_id, full, contexts or {}))
