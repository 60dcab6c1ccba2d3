"""Read-only tools about the past: the log filtered, one operation's timeline, the state as it
was at a position or time, post-mortems, and the hash chain's integrity."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from gpumod.adapters.cli import state_report
from gpumod.adapters.mcp.arguments import (
    ActorFilter,
    After,
    At,
    CorrelationFilter,
    CorrelationId,
    Incident,
    Limit,
    ModeFilter,
    Position,
    ServiceFilter,
    Since,
    TypesFilter,
    Until,
)
from gpumod.adapters.mcp.errors import ArgumentError
from gpumod.adapters.mcp.outputs import Audit, History
from gpumod.adapters.mcp.past import (
    as_events,
    audit,
    event_filter,
    history_page,
    switch_summary,
    when,
)
from gpumod.adapters.mcp.runtime import Runtime
from gpumod.adapters.mcp.toolbox import READS, add_tools
from gpumod.commands.current_state import state_at as replay_to
from gpumod.commands.postmortem import postmortem_report
from gpumod.commands.switch_reports import timeline_dict
from gpumod.events.query import EventFilter
from gpumod.projections.state import State


def register(server: MCPServer, rt: Runtime) -> None:
    tools = PastTools(rt)
    add_tools(server, (tools.get_history, tools.get_switch, tools.state_at, tools.postmortem,
                       tools.verify_audit), READS)


class PastTools:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def get_history(
        self, service: ServiceFilter = None, mode: ModeFilter = None, types: TypesFilter = None,
        actor: ActorFilter = None, since: Since = None, until: Until = None,
        correlation_id: CorrelationFilter = None, after_position: After = None, limit: Limit = 50,
    ) -> History:
        """Recorded events, oldest first, filtered like `gpumod history`: by service, mode,
        event types, actor (e.g. 'mcp' for what assistants did), time, or correlation id.
        Without after_position, the newest `limit` matches; with it, the next `limit` after
        that position. `more` says whether further matches exist."""
        flt = event_filter(self.rt.app.clock(), service, mode, types, actor, since, until,
                           correlation_id)
        return history_page(self.rt.app.store, flt, after_position, limit)

    def get_switch(self, correlation_id: CorrelationId) -> dict[str, Any]:
        """The whole timeline of one operation: a mode switch (by switch id or correlation id)
        with each step's duration and result, or any other operation's events by correlation
        id. Correlation ids are in every event's metadata (get_history)."""
        state = self.rt.state()
        timeline = next((t for t in state.switches.values()
                         if correlation_id in (t.switch_id, t.correlation_id)), None)
        correlation = (timeline.correlation_id if timeline else None) or correlation_id
        events = list(self.rt.app.store.read(EventFilter(correlation_id=correlation)))
        if timeline is None and not events:
            raise ArgumentError("correlation_id", f"no switch or operation {correlation_id!r} "
                                "is recorded (ids are in get_history's event metadata)")
        return {"correlation_id": correlation,
                "switch": timeline_dict(timeline) if timeline else None,
                "events": as_events(events)}

    def state_at(self, position: Position = None, time: At = None) -> dict[str, Any]:
        """The state replayed from the log as it was right after `position`, or at `time`
        (give one): services and their states, modes, the active mode, the VRAM ledger,
        switches (without steps: get_switch has them) and anomalies found."""
        if position is not None and time is None:
            state = self._at_position(position)
        elif time is not None and position is None:
            moment = when(self.rt.app.clock(), time, "time")
            # A prefix of the log: a state that existed even if the clock stepped back.
            state = replay_to(self.rt.app.store, self.rt.app.store.last_before(moment))
        else:
            raise ArgumentError("position", "give either position or time, not both or neither")
        report = state_report.as_dict(state)
        report["switches"] = [switch_summary(t) for t in state.switches.values()]
        return report

    def _at_position(self, position: int) -> State:
        head = self.rt.app.store.head()[0]
        if position > head:
            raise ArgumentError("position", f"must be at most {head}, the log's last event")
        return replay_to(self.rt.app.store, position)

    def postmortem(self, correlation_id: Incident = None) -> dict[str, Any]:
        """Explain one switch or incident (default: the latest failure, OOM or VRAM refusal):
        every step with its duration and the VRAM free/used at that moment, reserved vs
        measured VRAM per service, which protection fired, and the failed service's log tail."""
        return postmortem_report(self.rt.app.store, correlation_id)

    def verify_audit(self) -> Audit:
        """Re-hash the whole event log: intact, or the first position where it was altered."""
        return audit(self.rt.app.store)
