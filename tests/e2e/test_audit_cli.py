"""`gpumod audit verify` and `gpumod events export|import`, as a user runs them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import Gpumod, event_count
from tests.integration.support import raw_execute as tamper

OLD = 23


def test_verify_an_intact_log(initialized: Gpumod) -> None:
    verified = initialized.ok("audit", "verify")

    assert verified.stdout.startswith(f"ok: {OLD} events, hash chain intact")


@pytest.mark.parametrize(("statements", "bad"), [
    (("DROP TRIGGER events_no_update",
      "UPDATE events SET data = replace(data, '\"vram_mb\":', '\"vram_mb\":1') "
      "WHERE position = 7"), 7),
    (("DROP TRIGGER events_no_update",
      "UPDATE events SET metadata = replace(metadata, 'cli:', 'mcp:') WHERE position = 12"), 12),
    (("DROP TRIGGER events_no_delete", "DELETE FROM events WHERE position = 9"), 9),
    (("DROP TRIGGER events_no_update",
      "UPDATE events SET position = -1 WHERE position = 4",
      "UPDATE events SET position = 4 WHERE position = 5",
      "UPDATE events SET position = 5 WHERE position = -1"), 4),
], ids=["changed-data", "changed-actor", "removed", "swapped"])
def test_verify_names_the_first_bad_position(
        initialized: Gpumod, statements: tuple[str, ...], bad: int) -> None:
    tamper(initialized.db, *statements)

    broken = initialized.run("audit", "verify")

    assert broken.code == 1, str(broken)
    assert f"BROKEN at position {bad}:" in broken.stderr
    assert broken.stdout == ""


@pytest.fixture(scope="session")
def exported_csv(initialized_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    (folder / "home").mkdir()
    runner = Gpumod(initialized_template, folder / "home")
    target = folder / "log.csv"
    done = runner.ok("events", "export", "--format", "csv", "--output", str(target))
    assert f"exported {OLD} events to {target}" in done.stderr
    return target


def test_csv_export_then_import_gives_a_byte_identical_log(
        initialized: Gpumod, exported_csv: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"

    imported = initialized.ok("events", "import", str(exported_csv), db=copy)

    assert imported.stdout.startswith(f"imported {OLD} events")
    original = initialized.ok("events", "export").stdout
    copied = initialized.ok("events", "export", db=copy).stdout
    assert copied == original
    assert len(original.splitlines()) == OLD
    assert exported_csv.read_text(encoding="utf-8").splitlines()[0] == (
        "position,stream,version,event_id,type,schema_version,data,metadata,recorded_at,hash")
    with sqlite3.connect(copy) as a, sqlite3.connect(initialized.db) as b:
        query = "SELECT * FROM events ORDER BY position"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def test_import_into_a_database_with_events_is_refused(
        initialized: Gpumod, exported_csv: Path) -> None:
    refused = initialized.fails("events", "import", str(exported_csv))

    assert "already holds events" in refused.stderr
    assert event_count(initialized.db) == OLD


def test_import_of_a_tampered_export_is_refused_and_writes_nothing(
        gpumod: Gpumod, exported_csv: Path, tmp_path: Path) -> None:
    lines = exported_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[10].startswith("10,")
    lines[10] = lines[10].replace("vllm", "VLLM", 1)
    assert lines[10] != exported_csv.read_text(encoding="utf-8").splitlines(keepends=True)[10]
    forged = tmp_path / "forged.csv"
    forged.write_text("".join(lines), encoding="utf-8")

    refused = gpumod.fails("events", "import", str(forged))

    assert "position 10" in refused.stderr
    assert event_count(gpumod.db) == 0


def test_import_of_a_file_that_is_no_export_names_it(gpumod: Gpumod, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n", encoding="utf-8")

    refused = gpumod.fails("events", "import", str(notes))

    assert "notes.txt" in refused.stderr
    assert "not a gpumod export" in refused.stderr
