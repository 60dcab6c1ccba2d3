"""Reading preset and mode files: every field kept, every mistake named with file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gpumod.adapters.yaml_files import DefinitionError, load_mode, load_service, yaml_files
from gpumod.commands.configuration import import_configuration
from gpumod.commands.messages import ImportConfiguration
from gpumod.definitions import ModeDefinition, ServiceDefinition
from gpumod.events import catalogue as ev
from gpumod.projections.state import State
from tests.conftest import EXAMPLES

PRESETS = sorted(str(p.relative_to(EXAMPLES)) for p in (EXAMPLES / "presets").rglob("*.yaml"))
MODES = sorted(str(p.relative_to(EXAMPLES)) for p in (EXAMPLES / "modes").rglob("*.yaml"))

SERVICE = {"id": "qwen", "name": "Qwen", "driver": "llamacpp", "vram_mb": 20000}


def write(folder: Path, fields: dict[str, Any], name: str = "preset.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(fields), encoding="utf-8")
    return path


def refusal(path: Path, loader: Any = load_service) -> str:
    with pytest.raises(DefinitionError) as refused:
        loader(path)
    return str(refused.value)


# --- the examples -----------------------------------------------------------------------------


def test_the_examples_are_there(examples: Path) -> None:
    assert PRESETS and MODES
    assert len(yaml_files(examples)) == len(PRESETS) + len(MODES)


@pytest.mark.parametrize("name", PRESETS)
def test_every_example_preset_loads_keeping_every_field_as_written(
    examples: Path, name: str
) -> None:
    path = examples / name
    written = yaml.safe_load(path.read_text(encoding="utf-8"))

    loaded = load_service(path)

    assert loaded.source == str(path)
    assert loaded.definition.as_stored() == written


@pytest.mark.parametrize("name", MODES)
def test_every_example_mode_loads_keeping_every_field_as_written(
    examples: Path, name: str
) -> None:
    path = examples / name
    written = yaml.safe_load(path.read_text(encoding="utf-8"))

    assert load_mode(path).definition.as_stored() == written


def test_importing_all_the_examples_records_each_file_as_written(examples: Path) -> None:
    services = tuple(load_service(p) for p in yaml_files(examples / "presets"))
    modes = tuple(load_mode(p) for p in yaml_files(examples / "modes"))

    events = import_configuration(ImportConfiguration(services=services, modes=modes), State())

    recorded = {(e.type_name, e.source): e.definition for e in events
                if isinstance(e, ev.ServiceRegistered | ev.ModeDefined)}
    assert len(recorded) == len(events)
    expected = {("ServiceRegistered", str(p)): yaml.safe_load(p.read_text(encoding="utf-8"))
                for p in yaml_files(examples / "presets")}
    expected |= {("ModeDefined", str(p)): yaml.safe_load(p.read_text(encoding="utf-8"))
                 for p in yaml_files(examples / "modes")}
    assert recorded == expected


def test_unit_vars_keep_nested_values_and_types(tmp_path: Path) -> None:
    unit_vars = {"jinja": True, "n_gpu_layers": -1, "gpu_mem_util": 0.85,
                 "extra_args": "--parallel 5", "nested": {"list": [1, "two", None]}}
    path = write(tmp_path, {**SERVICE, "unit_vars": unit_vars})

    assert load_service(path).definition.as_stored()["unit_vars"] == unit_vars


def test_yaml_files_lists_yaml_and_yml_files_under_a_folder_in_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/two.yml", "a.yaml", "notes.txt", "b/one.yaml"):
        (tmp_path / name).write_text("id: x\n", encoding="utf-8")

    assert yaml_files(tmp_path) == [tmp_path / "a.yaml", tmp_path / "b/one.yaml",
                                    tmp_path / "b/two.yml"]


def test_yaml_files_of_something_that_is_not_a_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="not a directory"):
        yaml_files(tmp_path / "missing")


# --- mistakes ---------------------------------------------------------------------------------


def test_an_unknown_preset_field_names_the_file_the_field_and_the_accepted_fields(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, {**SERVICE, "prot": 8000})

    message = refusal(path)

    assert str(path) in message
    assert "'prot'" in message
    accepted = message.split("accepted fields:", 1)[1]
    for field in ServiceDefinition.model_fields:
        assert field in accepted


def test_an_unknown_mode_field_names_the_file_the_field_and_the_accepted_fields(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, {"id": "code", "name": "C", "service": ["qwen"]}, "code.yaml")

    message = refusal(path, load_mode)

    assert str(path) in message
    assert "'service'" in message
    accepted = message.split("accepted fields:", 1)[1]
    for field in ModeDefinition.model_fields:
        assert field in accepted


def test_every_mistake_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, {**SERVICE, "prot": 1, "colour": "red"})

    message = refusal(path)

    assert "'prot'" in message
    assert "'colour'" in message


@pytest.mark.parametrize(("field", "value", "explains"), [
    ("port", "abc", ["integer"]),
    ("port", 70000, ["65535"]),
    ("vram_mb", -1, ["0"]),
    ("driver", "foo", ["vllm", "llamacpp", "mistralrs", "fastapi", "docker"]),
    ("sleep_mode", "l3", ["none", "l1", "l2", "router"]),
    ("health_endpoint", "health", ["/"]),
    ("depends_on", "qwen", ["list"]),
])
def test_a_wrong_value_names_the_field_and_what_is_accepted(
    tmp_path: Path, field: str, value: object, explains: list[str]
) -> None:
    path = write(tmp_path, {**SERVICE, field: value})

    message = refusal(path)

    assert str(path) in message
    assert f"'{field}'" in message
    for word in explains:
        assert word in message


def test_a_missing_required_field_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, {key: v for key, v in SERVICE.items() if key != "vram_mb"})

    message = refusal(path)

    assert "'vram_mb'" in message
    assert "required" in message


@pytest.mark.parametrize("bad_id", ["../etc", "a/b", "Qwen", "-lead", ".hidden", "", "x" * 65,
                                    "qwen\n", "with space"])
def test_an_invalid_id_is_refused(tmp_path: Path, bad_id: str) -> None:
    path = write(tmp_path, {**SERVICE, "id": bad_id})

    message = refusal(path)

    assert "'id'" in message
    assert "not a valid id" in message


@pytest.mark.parametrize("good_id", ["qwen3-coder", "llama-3.1-8b", "a", "x_y", "9" * 64])
def test_a_valid_id_is_accepted(tmp_path: Path, good_id: str) -> None:
    path = write(tmp_path, {**SERVICE, "id": good_id})

    assert load_service(path).definition.id == good_id


def test_an_invalid_mode_id_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, {"id": "../etc", "name": "C"}, "mode.yaml")

    assert "'id'" in refusal(path, load_mode)


def test_a_file_that_is_not_a_mapping_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- id: qwen\n", encoding="utf-8")

    message = refusal(path)

    assert str(path) in message
    assert "mapping" in message


def test_a_file_that_is_not_yaml_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")

    message = refusal(path)

    assert str(path) in message
    assert "YAML" in message


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    assert str(path) in refusal(path)
