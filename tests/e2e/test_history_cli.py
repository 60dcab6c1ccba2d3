"""`gpumod history`: the table, JSON lines, every filter, bad input, and --follow."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

import pytest

from gpumod.adapters.yaml_files import load_mode, load_service, yaml_files
from gpumod.bootstrap import bootstrap
from gpumod.commands.bus import Origin
from gpumod.commands.messages import ImportConfiguration
from tests.conftest import EXAMPLES, StepClock, counting_ids
from tests.e2e.conftest import USER, Gpumod

OLD = 23  # events of the configuration recorded "in 2020" by an assistant
FIELDS = {"position", "stream", "version", "event_id", "type", "schema_version", "data",
          "metadata", "recorded_at", "hash"}
FOLLOW_DEADLINE_S = 60  # how long to wait for a line before failing; not a measurement


@pytest.fixture(scope="session")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Gpumod:
    """Read-only for the tests: 23 configuration events by mcp:claude in January 2020, then,
    today, a removal (position 24) and a refused removal (25) by cli:alice."""
    folder = tmp_path_factory.mktemp("history")
    (folder / "home").mkdir()
    runner = Gpumod(folder / "gpumod.db", folder / "home")
    app = bootstrap(runner.db, clock=StepClock(datetime(2020, 1, 1, tzinfo=UTC)),
                    new_id=counting_ids("old"))
    command = ImportConfiguration(
        tuple(load_service(p) for p in yaml_files(EXAMPLES / "presets")),
        tuple(load_mode(p) for p in yaml_files(EXAMPLES / "modes")), initialize=True)
    app.bus.handle(command, Origin(actor="mcp:claude", correlation_id="setup-op", host="h"))
    runner.ok("service", "remove", "bge-large")
    runner.fails("service", "remove", "qwen3-coder")
    return runner


@pytest.fixture(scope="session")
def everything(logged: Gpumod) -> list[dict[str, Any]]:
    return logged.history()


def positions(runner: Gpumod, *args: str) -> list[int]:
    return [event["position"] for event in runner.history(*args)]


def test_json_is_one_event_object_per_line_oldest_first(
        everything: list[dict[str, Any]]) -> None:
    events = everything

    assert [e["position"] for e in events] == list(range(1, OLD + 3))
    assert all(set(e) == FIELDS for e in events)
    assert events[OLD]["type"] == "ServiceRemoved"
    assert events[OLD]["metadata"]["actor"] == f"cli:{USER}"
    assert events[OLD]["metadata"]["command"] == {
        "name": "RemoveService", "arguments": {"service_id": "bge-large"}}
    assert {"correlation_id", "causation_id", "host", "gpumod_version"} <= set(
        events[OLD]["metadata"])
    assert events[OLD + 1]["type"] == "CommandRejected"


def test_the_table_shows_one_aligned_line_per_event(logged: Gpumod) -> None:
    lines = logged.ok("history").stdout.splitlines()

    header, rows = lines[0], lines[1:]
    for column in ("POS", "TIME (UTC)", "ACTOR", "TYPE", "STREAM"):
        assert column in header
    assert len(rows) == OLD + 2
    assert rows[0].split()[0] == "1"
    assert "StoreInitialized" in rows[0]
    assert rows[1].startswith("2 ")
    assert "2020-01-01" in rows[1]
    assert "ServiceRegistered" in rows[1]
    removal = rows[OLD]
    assert removal.split()[0] == str(OLD + 1)
    assert f"cli:{USER}" in removal
    assert "service-bge-large" in removal
    assert removal.index("ServiceRemoved") == header.index("TYPE")


def test_no_match_says_so_in_the_table_and_prints_nothing_as_json(logged: Gpumod) -> None:
    assert logged.ok("history", "--type", "NoSuchEvent").stdout.strip() == "no events match"
    assert logged.history("--type", "NoSuchEvent") == []


@pytest.mark.parametrize(("args", "expected"), [
    (("--service", "bge-large"), "service"),
    (("--mode", "code"), "mode"),
    (("--type", "ModeDefined"), "type"),
    (("--type", "ServiceRemoved", "--type", "StoreInitialized"), "types"),
    (("--actor", "cli"), "cli"),
    (("--actor", f"cli:{USER}"), "cli"),
    (("--actor", "mcp"), "mcp"),
    (("--since", "1h"), "today"),
    (("--until", "2020-01-01 00:00:01"), "2020"),  # local time; TZ=UTC in these runs
    (("--since", "2019-12-31T23:59:59Z", "--until", "2020-01-02"), "2020"),
    (("--correlation", "setup-op"), "2020"),
    (("--limit", "3"), "last3"),
    (("--limit", "2", "--type", "ServiceRegistered"), "last2registered"),
])
def test_filters(logged: Gpumod, everything: list[dict[str, Any]], args: tuple[str, ...],
                 expected: str) -> None:
    selects: dict[str, Callable[[dict[str, Any]], bool]] = {
        "service": lambda e: e["stream"] == "service-bge-large",
        "mode": lambda e: e["stream"] == "mode-code",
        "type": lambda e: e["type"] == "ModeDefined",
        "types": lambda e: e["type"] in ("ServiceRemoved", "StoreInitialized"),
        "cli": lambda e: e["position"] > OLD,
        "mcp": lambda e: e["position"] <= OLD,
        "today": lambda e: e["position"] > OLD,
        "2020": lambda e: e["position"] <= OLD,
        "last3": lambda e: e["position"] > OLD - 1,
        "last2registered": lambda e: e["type"] == "ServiceRegistered" and e["position"] >= 14,
    }

    got = positions(logged, *args)

    want = [e["position"] for e in everything if selects[expected](e)]
    assert want
    assert got == want


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_a_time_that_cannot_be_read_is_refused_saying_what_is_accepted(
        logged: Gpumod, option: str) -> None:
    refused = logged.fails("history", option, "garbage")

    assert option in refused.stderr
    assert "'garbage'" in refused.stderr
    assert "ISO 8601" in refused.stderr
    assert "2h" in refused.stderr


def test_a_limit_below_one_is_refused(logged: Gpumod) -> None:
    refused = logged.fails("history", "--limit", "0")

    assert "--limit" in refused.stderr


class Follower:
    """`gpumod history --follow --json ...` running in the background, its lines queued."""

    def __init__(self, runner: Gpumod, *args: str) -> None:
        self.process = subprocess.Popen(
            runner.argv("history", "--follow", "--json", *args), env=runner.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def next_events(self, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + FOLLOW_DEADLINE_S
        events: list[dict[str, Any]] = []
        while len(events) < count:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"history --follow printed {len(events)} of {count} expected events; "
                    f"exit code {self.process.poll()}") from None
            events.append(json.loads(line))
        return events

    def pending(self) -> int:
        return self.lines.qsize()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        assert self.process.stderr is not None
        self.process.stderr.close()


def test_follow_prints_events_other_processes_append(initialized: Gpumod) -> None:
    everything = Follower(initialized)
    one_service = Follower(initialized, "--service", "mistral-7b")
    try:
        backlog = everything.next_events(OLD)
        (registered,) = one_service.next_events(1)
        assert [e["position"] for e in backlog] == list(range(1, OLD + 1))
        assert registered["type"] == "ServiceRegistered"

        initialized.ok("service", "remove", "bge-large")
        initialized.ok("service", "remove", "mistral-7b")

        live = everything.next_events(2)
        (removed,) = one_service.next_events(1)
    finally:
        everything.stop()
        one_service.stop()

    assert [(e["position"], e["type"], e["data"]["service_id"]) for e in live] == [
        (OLD + 1, "ServiceRemoved", "bge-large"), (OLD + 2, "ServiceRemoved", "mistral-7b")]
    # bge-large's removal came first and was filtered out; the next line is mistral-7b's.
    assert (removed["position"], removed["type"]) == (OLD + 2, "ServiceRemoved")
    assert everything.pending() == 0
    assert one_service.pending() == 0


def test_follow_ignores_positions_it_already_printed(initialized: Gpumod) -> None:
    follower = Follower(initialized, "--limit", "1")
    try:
        (newest,) = follower.next_events(1)
        initialized.ok("service", "remove", "nomic-embed")
        (live,) = follower.next_events(1)
    finally:
        follower.stop()

    assert newest["position"] == OLD
    assert (live["position"], live["data"]["service_id"]) == (OLD + 1, "nomic-embed")
