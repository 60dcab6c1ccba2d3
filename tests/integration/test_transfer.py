"""Export to JSONL or CSV, then import into an empty database: the very same log."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gpumod.adapters.yaml_files import load_mode, load_service, yaml_files
from gpumod.bootstrap import App
from gpumod.commands.bus import Origin
from gpumod.commands.errors import Rejected
from gpumod.commands.messages import ImportConfiguration, RemoveService
from gpumod.events import codec, transfer
from gpumod.events.chain import verify_store
from gpumod.events.errors import ChainBroken, EventStoreError, StoreNotEmpty
from gpumod.events.export_files import iter_file, read_file
from gpumod.events.store import EventStore
from gpumod.events.transfer import export_rows, import_rows, write_csv, write_jsonl
from tests.conftest import StepClock
from tests.integration.support import db_file, new_event, raw_rows, service

WRITERS = {"jsonl": write_jsonl, "csv": write_csv}


@pytest.fixture
def configured(app: App, origin: Origin, examples: Path) -> App:
    """A log from real presets and modes, a removal and a refusal, with two actors."""
    services = tuple(load_service(p) for p in yaml_files(examples / "presets"))
    modes = tuple(load_mode(p) for p in yaml_files(examples / "modes"))
    app.bus.handle(ImportConfiguration(services, modes, initialize=True), origin)
    app.bus.handle(RemoveService("bge-large"), Origin(actor="mcp:claude", host="h"))
    with pytest.raises(Rejected):
        app.bus.handle(RemoveService("qwen3-coder"), origin)
    return app


def export_to(store: EventStore, path: Path, fmt: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        WRITERS[fmt](export_rows(store), out)
    return path


def empty_store(path: Path) -> EventStore:
    return EventStore.open(path, StepClock())


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_gives_an_identical_log(
        configured: App, tmp_path: Path, fmt: str) -> None:
    exported = export_to(configured.store, tmp_path / f"log.{fmt}", fmt)
    target = empty_store(tmp_path / "copy.db")

    verified = import_rows(target, read_file(exported))

    original = raw_rows(db_file(configured.store))
    assert raw_rows(tmp_path / "copy.db") == original  # every column, indexes copies included
    assert verified.count == len(original) == verify_store(target).count
    assert verified.head_hash == configured.store.head()[1]
    assert list(target.read()) == list(configured.store.read())


def test_jsonl_and_csv_exports_carry_the_same_rows(configured: App, tmp_path: Path) -> None:
    jsonl = read_file(export_to(configured.store, tmp_path / "a.jsonl", "jsonl"))
    csv = read_file(export_to(configured.store, tmp_path / "a.csv", "csv"))

    assert jsonl == csv == list(export_rows(configured.store))


def test_jsonl_export_is_one_event_object_per_line(configured: App) -> None:
    out = io.StringIO()
    count = write_jsonl(export_rows(configured.store), out)

    lines = out.getvalue().splitlines()
    assert count == len(lines) == configured.store.head()[0]
    first = codec.loads(lines[0])
    assert first["position"] == 1
    assert first["type"] == "StoreInitialized"
    assert isinstance(first["data"], dict)
    assert isinstance(first["metadata"], dict)


def test_an_imported_log_can_be_appended_to(configured: App, tmp_path: Path) -> None:
    exported = export_to(configured.store, tmp_path / "log.jsonl", "jsonl")
    target = empty_store(tmp_path / "copy.db")
    import_rows(target, read_file(exported))

    (added,) = target.append([new_event(service("newcomer"), "after-import")])

    assert added.position == configured.store.head()[0] + 1
    assert verify_store(target).count == added.position


def test_import_into_a_database_with_events_is_refused(configured: App, tmp_path: Path) -> None:
    exported = export_to(configured.store, tmp_path / "log.jsonl", "jsonl")
    target = empty_store(tmp_path / "copy.db")
    target.append([new_event(service("already-here"), "x1")])
    before = raw_rows(tmp_path / "copy.db")

    with pytest.raises(StoreNotEmpty, match="already holds events"):
        import_rows(target, read_file(exported))

    assert raw_rows(tmp_path / "copy.db") == before


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_import_of_a_tampered_export_is_refused_and_writes_nothing(
        configured: App, tmp_path: Path, fmt: str) -> None:
    exported = export_to(configured.store, tmp_path / f"log.{fmt}", fmt)
    text = exported.read_text(encoding="utf-8")
    assert text.count("BAAI/bge-large-en-v1.5") == 1
    exported.write_text(text.replace("BAAI/bge-large-en-v1.5", "evil/model"), encoding="utf-8")
    target = empty_store(tmp_path / "copy.db")

    with pytest.raises(ChainBroken) as broken:
        import_rows(target, read_file(exported))

    bge = next(r.position for r in configured.store.read()
               if r.data.get("service_id") == "bge-large")
    assert broken.value.position == bge
    assert raw_rows(tmp_path / "copy.db") == []


def test_import_of_an_export_with_a_line_removed_is_refused(
        configured: App, tmp_path: Path) -> None:
    exported = export_to(configured.store, tmp_path / "log.jsonl", "jsonl")
    lines = exported.read_text(encoding="utf-8").splitlines(keepends=True)
    exported.write_text("".join(lines[:3] + lines[4:]), encoding="utf-8")
    target = empty_store(tmp_path / "copy.db")

    with pytest.raises(ChainBroken) as broken:
        import_rows(target, read_file(exported))

    assert broken.value.position == 4
    assert raw_rows(tmp_path / "copy.db") == []


def test_a_file_that_is_not_an_export_is_refused_naming_it(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.csv"
    bogus.write_text("a,b,c\n1,2,3\n", encoding="utf-8")

    with pytest.raises(EventStoreError, match=r"notes\.csv: not a gpumod export"):
        read_file(bogus)


def test_a_broken_jsonl_line_is_refused_naming_the_line(
        configured: App, tmp_path: Path) -> None:
    exported = export_to(configured.store, tmp_path / "log.jsonl", "jsonl")
    lines = exported.read_text(encoding="utf-8").splitlines(keepends=True)
    exported.write_text("".join([*lines[:2], '{"position": 3}\n', *lines[3:]]),
                        encoding="utf-8")

    with pytest.raises(EventStoreError, match="line 3: not an exported event") as refused:
        read_file(exported)
    assert str(exported) in str(refused.value)  # streamed: it may come mid-import


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_export_of_an_empty_log_imports_as_an_empty_log(
        app: App, tmp_path: Path, fmt: str) -> None:
    exported = export_to(app.store, tmp_path / f"empty.{fmt}", fmt)
    target = empty_store(tmp_path / "copy.db")

    verified = import_rows(target, read_file(exported))

    assert verified.count == 0
    assert raw_rows(tmp_path / "copy.db") == []


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "IMPORT_BATCH", 3)


@pytest.mark.usefixtures("small_batches")
def test_an_import_in_many_batches_gives_an_identical_log(configured: App, tmp_path: Path) -> None:
    exported = export_to(configured.store, tmp_path / "log.jsonl", "jsonl")
    target = empty_store(tmp_path / "copy.db")

    import_rows(target, iter_file(exported))

    assert raw_rows(tmp_path / "copy.db") == raw_rows(db_file(configured.store))


@pytest.mark.usefixtures("small_batches")
def test_an_import_that_breaks_after_several_batches_writes_nothing(
        configured: App, tmp_path: Path) -> None:
    exported = export_to(configured.store, tmp_path / "log.jsonl", "jsonl")
    lines = exported.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) > 10
    lines[10] = lines[10].replace('"actor":"', '"actor":"x', 1)
    exported.write_text("".join(lines), encoding="utf-8")
    target = empty_store(tmp_path / "copy.db")

    with pytest.raises(ChainBroken) as broken:
        import_rows(target, iter_file(exported))

    assert broken.value.position == 11
    assert raw_rows(tmp_path / "copy.db") == []


def test_a_csv_row_that_is_not_an_event_is_refused_naming_the_row(
        configured: App, tmp_path: Path) -> None:
    exported = export_to(configured.store, tmp_path / "log.csv", "csv")
    lines = exported.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = "three,not,numbers\n"
    exported.write_text("".join(lines), encoding="utf-8")

    with pytest.raises(EventStoreError, match="row 4: not an exported event"):
        read_file(exported)
