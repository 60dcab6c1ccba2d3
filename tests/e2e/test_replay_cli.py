"""`gpumod replay`: the past state by position or time, from the log or an export, and --rebuild."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import Gpumod, event_count

OLD = 23
SNAPSHOT_AFTER = 500  # gpumod.commands.current_state.SNAPSHOT_EVERY


@pytest.fixture
def removed(initialized: Gpumod) -> Gpumod:
    """The example configuration (positions 1..23), then bge-large removed (24)."""
    initialized.ok("service", "remove", "bge-large")
    return initialized


def test_replay_until_a_position_shows_the_state_then(removed: Gpumod) -> None:
    now = removed.ok("replay", "--json").json()
    then = removed.ok("replay", "--until", str(OLD), "--json").json()

    assert (now["position"], then["position"]) == (OLD + 1, OLD)
    assert "bge-large" not in now["services"]
    assert then["services"]["bge-large"]["definition"]["model_id"] == "BAAI/bge-large-en-v1.5"
    assert set(then["services"]) - set(now["services"]) == {"bge-large"}
    assert then["modes"] == now["modes"]
    assert len(then["modes"]) == 8
    assert then["active_mode"] is None
    assert then["anomalies"] == []
    assert set(then) >= {"services", "modes", "active_mode", "vram"}

    text = removed.ok("replay", "--until", str(OLD)).stdout
    assert f"state at position {OLD}" in text
    assert "bge-large" in text


def test_replay_until_a_time_shows_the_state_then(removed: Gpumod) -> None:
    events = removed.history()
    configured_at = events[OLD - 1]["recorded_at"]
    assert events[OLD]["recorded_at"] > configured_at

    at_time = removed.ok("replay", "--until", configured_at, "--json").json()
    before_anything = removed.ok("replay", "--until", "2000-01-01T00:00:00Z", "--json").json()

    assert at_time["position"] == OLD
    assert "bge-large" in at_time["services"]
    assert (before_anything["position"], before_anything["services"]) == (0, {})


def test_replay_until_something_unreadable_is_refused(removed: Gpumod) -> None:
    refused = removed.fails("replay", "--until", "yesterday-ish")

    assert "--until" in refused.stderr
    assert "ISO 8601" in refused.stderr


def test_replay_from_an_export_equals_the_live_replay_without_touching_the_db(
        removed: Gpumod, tmp_path: Path) -> None:
    live = removed.ok("replay", "--json").stdout
    export = tmp_path / "log.jsonl"
    removed.ok("events", "export", "--output", str(export))
    files = sorted(removed.db.parent.glob(removed.db.name + "*"))
    before = {f: (f.stat().st_size, f.stat().st_mtime_ns) for f in files}

    from_file = removed.ok("replay", "--from", str(export), "--json").stdout
    from_file_then = removed.ok("replay", "--from", str(export), "--until", str(OLD),
                                "--json").json()

    assert from_file == live
    assert from_file_then["position"] == OLD
    assert "bge-large" in from_file_then["services"]
    assert sorted(removed.db.parent.glob(removed.db.name + "*")) == files
    assert {f: (f.stat().st_size, f.stat().st_mtime_ns) for f in files} == before
    assert event_count(removed.db) == OLD + 1


def test_replay_from_an_export_needs_no_database(removed: Gpumod, tmp_path: Path) -> None:
    export = tmp_path / "log.jsonl"
    removed.ok("events", "export", "--output", str(export))
    nowhere = tmp_path / "absent" / "gpumod.db"

    replayed = removed.ok("replay", "--from", str(export), "--json", db=nowhere).json()

    assert replayed["position"] == OLD + 1
    assert not nowhere.parent.exists()


def test_replay_from_a_tampered_export_is_refused(removed: Gpumod, tmp_path: Path) -> None:
    export = tmp_path / "log.jsonl"
    removed.ok("events", "export", "--output", str(export))
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].replace('"vram_mb":', '"vram_mb":9', 1)
    export.write_text("".join(lines), encoding="utf-8")

    refused = removed.fails("replay", "--from", str(export), "--json")

    assert "position 5" in refused.stderr
    assert refused.stdout == ""


def test_an_export_tampered_after_the_until_point_is_still_refused(
        removed: Gpumod, tmp_path: Path) -> None:
    # The file is read as it is folded, but its whole chain is checked before anything is shown.
    export = tmp_path / "log.jsonl"
    removed.ok("events", "export", "--output", str(export))
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    assert '"actor":"' in lines[20]
    lines[20] = lines[20].replace('"actor":"', '"actor":"x', 1)
    export.write_text("".join(lines), encoding="utf-8")

    refused = removed.fails("replay", "--from", str(export), "--until", "3", "--json")

    assert "position 21" in refused.stderr
    assert refused.stdout == ""


def write_presets(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for i in range(count):
        path = folder / f"gen-{i:04d}.yaml"
        path.write_text(f"id: gen-{i:04d}\nname: Generated {i}\ndriver: llamacpp\n"
                        f"port: {20000 + i}\nvram_mb: {100 + i}\n", encoding="utf-8")
        paths.append(path)
    return paths


def snapshot_row(db: Path) -> tuple[int, bytes] | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT position, state FROM snapshots WHERE name = 'state'").fetchone()
    return (row[0], row[1]) if row else None


def test_rebuild_checks_the_snapshot_against_a_full_refold(
        gpumod: Gpumod, tmp_path: Path) -> None:
    count = SNAPSHOT_AFTER + 20
    gpumod.ok("service", "add", *map(str, write_presets(tmp_path / "gen", count)))
    assert event_count(gpumod.db) == count

    no_snapshot = gpumod.ok("replay", "--rebuild")
    assert "no snapshot" in no_snapshot.stdout
    listed = gpumod.ok("service", "list", "--json").json()  # folds > SNAPSHOT_EVERY events
    assert len(listed) == count
    found = snapshot_row(gpumod.db)
    assert found is not None
    assert found[0] == count

    matching = gpumod.ok("replay", "--rebuild")
    assert f"ok: refolding events 1..{count} equals the snapshot" in matching.stdout

    state = json.loads(found[1])
    state["services"]["gen-0007"]["definition"]["vram_mb"] = 1
    with sqlite3.connect(gpumod.db) as conn:
        conn.execute("UPDATE snapshots SET state = ? WHERE name = 'state'",
                     (json.dumps(state).encode(),))

    mismatch = gpumod.run("replay", "--rebuild")
    assert mismatch.code == 1, str(mismatch)
    assert "MISMATCH services.gen-0007.definition.vram_mb: snapshot 1 != refolded 107" in (
        mismatch.stdout)
