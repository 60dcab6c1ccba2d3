"""`gpumod init`, `service ...` and `mode ...` as a user runs them, on a real SQLite file."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.conftest import USER, Gpumod, event_count


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def presets(config_dir: Path) -> dict[str, dict[str, Any]]:
    found = [load(p) for p in sorted((config_dir / "presets").rglob("*.yaml"))]
    return {d["id"]: d for d in found}


def modes(config_dir: Path) -> dict[str, dict[str, Any]]:
    found = [load(p) for p in sorted((config_dir / "modes").glob("*.yaml"))]
    return {d["id"]: d for d in found}


def test_init_registers_every_preset_and_mode_keeping_every_field(
        initialized: Gpumod, config_dir: Path) -> None:
    expected_services, expected_modes = presets(config_dir), modes(config_dir)
    assert (len(expected_services), len(expected_modes)) == (14, 8)

    services = initialized.ok("service", "list", "--json").json()
    mode_rows = initialized.ok("mode", "list", "--json").json()
    replayed = initialized.ok("replay", "--json").json()

    assert [s["id"] for s in services] == sorted(expected_services)
    assert {s["state"] for s in services} == {"STOPPED"}
    assert {s["id"]: s["vram_mb"] for s in services} == {
        sid: d["vram_mb"] for sid, d in expected_services.items()}
    assert {m["id"]: m["definition"] for m in mode_rows} == expected_modes
    assert {m["id"]: m["services"] for m in mode_rows} == {
        mid: d["services"] for mid, d in expected_modes.items()}
    assert {sid: s["definition"] for sid, s in replayed["services"].items()} == expected_services
    for sid in ("qwen3-coder", "vllm-embedding-code"):  # floats, nested unit_vars, sleep modes
        status = initialized.ok("service", "status", sid, "--json").json()
        assert status["definition"] == expected_services[sid]
        assert (status["id"], status["state"]) == (sid, "STOPPED")
        assert status["modes"] == sorted(mid for mid, d in expected_modes.items()
                                         if sid in d["services"])


def test_init_records_one_event_per_definition_in_one_operation(initialized: Gpumod) -> None:
    events = initialized.history()

    assert [e["position"] for e in events] == list(range(1, 24))
    assert [e["type"] for e in events] == (
        ["StoreInitialized"] + ["ServiceRegistered"] * 14 + ["ModeDefined"] * 8)
    assert len({e["metadata"]["correlation_id"] for e in events}) == 1
    assert {e["metadata"]["actor"] for e in events} == {f"cli:{USER}"}
    assert {e["metadata"]["command"]["name"] for e in events} == {"ImportConfiguration"}


def test_init_again_records_nothing(initialized: Gpumod, config_dir: Path) -> None:
    again = initialized.ok("init", "--preset-dir", str(config_dir / "presets"),
                           "--mode-dir", str(config_dir / "modes"))

    assert "nothing changed" in again.stdout
    assert event_count(initialized.db) == 23


def test_the_database_comes_from_gpumod_db_or_the_config_folder(
        gpumod: Gpumod, tmp_path: Path) -> None:
    via_env = tmp_path / "elsewhere" / "env.db"
    env = {**gpumod.env, "GPUMOD_DB": str(via_env)}
    result = gpumod.run("init", env=env, use_db=False)
    assert result.code == 0, str(result)
    assert event_count(via_env) == 1

    result = gpumod.run("init", use_db=False)
    assert result.code == 0, str(result)
    default = tmp_path / "home" / ".config" / "gpumod" / "gpumod.db"
    assert event_count(default) == 1
    assert not gpumod.db.exists()


def test_a_preset_with_an_unknown_field_is_refused_and_records_nothing(
        initialized: Gpumod, config_dir: Path) -> None:
    bad = config_dir / "typo.yaml"
    bad.write_text("id: typo\nname: Typo\ndriver: vllm\nvram_mb: 10\ngpu_layerz: 33\n",
                   encoding="utf-8")
    before = len(initialized.history())

    refused = initialized.fails("service", "add", str(bad))

    assert str(bad) in refused.stderr
    assert "gpu_layerz" in refused.stderr
    assert len(initialized.history()) == before


def test_init_with_one_bad_file_among_good_ones_writes_nothing(
        gpumod: Gpumod, config_dir: Path) -> None:
    bad = config_dir / "presets" / "llm" / "mistral-7b.yaml"
    bad.write_text(bad.read_text(encoding="utf-8") + "quantization: q4\n", encoding="utf-8")

    refused = gpumod.fails("init", "--preset-dir", str(config_dir / "presets"),
                           "--mode-dir", str(config_dir / "modes"))

    assert "mistral-7b.yaml" in refused.stderr
    assert "quantization" in refused.stderr
    assert gpumod.history() == []


def test_a_changed_preset_records_only_the_diff_and_unchanged_records_nothing(
        initialized: Gpumod, config_dir: Path) -> None:
    path = config_dir / "presets" / "llm" / "qwen3-coder.yaml"
    original = load(path)
    changed = {key: value for key, value in original.items() if key != "model_id"}
    changed["vram_mb"] = original["vram_mb"] + 512
    path.write_text(yaml.safe_dump(changed), encoding="utf-8")

    initialized.ok("service", "add", str(path))
    again = initialized.ok("service", "add", str(path))

    (change,) = initialized.history("--type", "ServiceDefinitionChanged")
    assert change["data"]["service_id"] == "qwen3-coder"
    assert change["data"]["changed"] == {"vram_mb": original["vram_mb"] + 512}
    assert change["data"]["removed"] == ["model_id"]
    assert "nothing changed" in again.stdout
    assert event_count(initialized.db) == 24
    status = initialized.ok("service", "status", "qwen3-coder", "--json").json()
    assert status["definition"] == changed


def test_removing_a_service_a_mode_uses_is_refused_and_the_refusal_recorded(
        initialized: Gpumod) -> None:
    refused = initialized.fails("service", "remove", "qwen3-coder")

    assert "code" in refused.stderr
    assert "hacker" in refused.stderr
    (rejection,) = initialized.history("--type", "CommandRejected")
    assert rejection["metadata"]["actor"] == f"cli:{USER}"
    assert rejection["data"]["command"] == "RemoveService"
    assert rejection["data"]["arguments"] == {"service_id": "qwen3-coder"}
    assert rejection["data"]["code"] == "service_in_use"
    ids = [s["id"] for s in initialized.ok("service", "list", "--json").json()]
    assert "qwen3-coder" in ids


def test_removing_an_unused_service_and_a_mode(initialized: Gpumod) -> None:
    initialized.ok("service", "remove", "bge-large")
    initialized.ok("mode", "remove", "rag")

    services = [s["id"] for s in initialized.ok("service", "list", "--json").json()]
    mode_ids = [m["id"] for m in initialized.ok("mode", "list", "--json").json()]
    assert "bge-large" not in services
    assert len(services) == 13
    assert "rag" not in mode_ids
    assert len(mode_ids) == 7
    assert [e["type"] for e in initialized.history("--limit", "2")] == [
        "ServiceRemoved", "ModeRemoved"]


def test_status_of_an_unknown_service_names_it(initialized: Gpumod) -> None:
    before = event_count(initialized.db)

    refused = initialized.fails("service", "status", "nope", "--json")

    assert "'nope'" in refused.stderr
    assert event_count(initialized.db) == before  # a read records nothing


def test_mode_create_defines_then_records_changes(
        initialized: Gpumod, config_dir: Path) -> None:
    path = config_dir / "pair.yaml"
    path.write_text("id: pair\nname: Pair\nservices: [bge-large, nomic-embed]\n",
                    encoding="utf-8")
    initialized.ok("mode", "create", str(path))
    path.write_text("id: pair\nname: Pair\nservices: [bge-large]\n", encoding="utf-8")
    initialized.ok("mode", "create", str(path))

    defined, changed = initialized.history("--mode", "pair")
    assert defined["type"] == "ModeDefined"
    assert changed["type"] == "ModeDefinitionChanged"
    assert changed["data"]["changed"] == {"services": ["bge-large"]}
    pair = next(m for m in initialized.ok("mode", "list", "--json").json() if m["id"] == "pair")
    assert pair["services"] == ["bge-large"]


def test_a_mode_naming_an_unregistered_service_is_refused(
        initialized: Gpumod, config_dir: Path) -> None:
    path = config_dir / "ghost.yaml"
    path.write_text("id: ghost\nname: Ghost\nservices: [no-such-service]\n", encoding="utf-8")

    refused = initialized.fails("mode", "create", str(path))

    assert "no-such-service" in refused.stderr
    assert [e["type"] for e in initialized.history("--limit", "1")] == ["CommandRejected"]


def test_concurrent_service_adds_all_land_without_gaps(
        gpumod: Gpumod, config_dir: Path) -> None:
    gpumod.ok("init")
    files = sorted((config_dir / "presets").rglob("*.yaml"))
    # Every writer also brings files[0]: the writers that lose the race to register it get
    # WrongExpectedVersion, decide again on the fresh state, and register only the rest.
    groups = [files[i::4] if i == 0 else [files[0], *files[i::4]] for i in range(4)]
    processes = [subprocess.Popen(gpumod.argv("service", "add", *map(str, group)),
                                  env=gpumod.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for group in groups]
    for process in processes:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err

    events = gpumod.history()
    assert [e["position"] for e in events] == list(range(1, 16))
    assert len({e["event_id"] for e in events}) == 15
    registered = [e["data"]["service_id"] for e in events if e["type"] == "ServiceRegistered"]
    assert sorted(registered) == sorted(presets(config_dir))  # each exactly once
    assert "ok: 15 events" in gpumod.ok("audit", "verify").stdout
