"""systemd units rendered from presets: accepted by `systemd-analyze --user verify` without a
word of complaint, carrying every preset field to the command line, and impossible to inject into.

ExecStart and Environment are read back here by the rules of systemd.syntax(7), written
independently of gpumod's quoting; test_systemd_backend.py checks the same against a real manager.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gpumod.adapters.drivers.registry import driver_for, driver_names
from gpumod.adapters.process.base import LaunchSpec
from gpumod.adapters.process.units import (
    TEMPLATE_DIR,
    UnitMeta,
    installed_meta,
    render_unit,
    unit_for_definition,
    unit_name,
    user_unit_dir,
)
from gpumod.adapters.yaml_files import load_service
from tests.conftest import EXAMPLES

PRESET_FILES = sorted((EXAMPLES / "presets").glob("*/*.yaml"))
HOME = "/home/tester"
ROOT = Path(__file__).resolve().parents[2]
# unit_vars that are gpumod's own business (which level to sleep at, which model a router
# unloads), so they reach no command line.
GPUMOD_UNIT_VARS = {"sleep_level", "default_model"}
C_ESCAPES = {"\\": "\\", '"': '"', "'": "'"}
Verify = Callable[[str, str], tuple[int, str]]


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", HOME)


@pytest.fixture
def server(tmp_path: Path) -> str:
    """An executable standing in for the real binary, which is not installed here."""
    path = tmp_path / "bin" / "server"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def verify(tmp_path: Path) -> Verify:
    """`systemd-analyze --user verify` of a unit text: returns (exit status, stdout + stderr)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is missing (install the systemd package: "
                    "scripts/ci_prepare.sh)")
    runtime, units = tmp_path / "runtime", tmp_path / "units"
    runtime.mkdir(mode=0o700)
    units.mkdir()

    def run(text: str, name: str) -> tuple[int, str]:
        path = units / name
        path.write_text(text)
        done = subprocess.run([analyze, "--user", "verify", str(path)], capture_output=True,
                              text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(runtime),
                                   "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": HOME})
        return done.returncode, done.stdout + done.stderr

    return run


def load(path: Path) -> dict[str, Any]:
    return load_service(path).definition.as_stored()


def directives(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


def one(text: str, key: str) -> str:
    values = directives(text, key)
    assert len(values) == 1, f"{key}= should appear once, not {values}"
    return values[0]


def systemd_words(value: str, *, variables: bool) -> list[str]:
    """An Exec/Environment value split as systemd does: `%%` specifiers on the raw line, then
    words (double or single quotes, backslash escapes), then `$$` in Exec lines."""
    assert re.fullmatch(r"(?:[^%]|%%)*", value), f"a lone % would be a specifier: {value}"
    text = value.replace("%%", "%")
    words: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        word: list[str] = []
        quote: str | None = None
        while i < len(text) and (quote or text[i] != " "):
            char = text[i]
            if char == "\\":
                assert text[i + 1] in C_ESCAPES, f"unexpected escape in {value}"
                word.append(C_ESCAPES[text[i + 1]])
                i += 2
                continue
            if char == quote:
                quote = None
            elif quote is None and char in "\"'":
                quote = char
            else:
                word.append(char)
            i += 1
        assert quote is None, f"unclosed quote in {value}"
        words.append("".join(word))
    return [_no_variables(word) for word in words] if variables else words


def _no_variables(word: str) -> str:
    assert not re.search(r"(?<!\$)(?:\$\$)*\$[{A-Za-z_]", word), f"would expand: {word}"
    return word.replace("$$", "$")


def exec_start(text: str) -> list[str]:
    return systemd_words(one(text, "ExecStart"), variables=True)


def environment(text: str) -> dict[str, str]:
    pairs = [systemd_words(value, variables=False) for value in directives(text, "Environment")]
    assert all(len(words) == 1 for words in pairs), pairs
    return dict(words[0].split("=", 1) for words in pairs)


def test_the_example_presets_are_there() -> None:
    assert len(PRESET_FILES) >= 14, f"example presets missing under {EXAMPLES}"


@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda p: p.stem)
def test_every_example_preset_renders_a_unit_systemd_accepts_silently(
        path: Path, server: str, verify: Verify, tmp_path: Path) -> None:
    definition = load(path)
    spec = driver_for(definition["driver"]).launch_spec(definition)
    log = tmp_path / "logs" / f"{definition['id']}.log"
    text = unit_for_definition(definition, log, executable=server)

    status, complaints = verify(text, unit_name(definition["id"]))

    assert (status, complaints) == (0, "")
    assert exec_start(text) == [server, *spec.argv[1:]]
    assert environment(text) == spec.env
    assert directives(text, "WorkingDirectory") == ([str(spec.cwd)] if spec.cwd else [])
    assert one(text, "Description") == definition["name"].replace("%", "%%")
    assert one(text, "StandardOutput") == one(text, "StandardError") == f"append:{log}"
    assert one(text, "Type") == "exec" and one(text, "KillMode") == "control-group"
    assert one(text, "TimeoutStopSec") == "30s"
    assert installed_meta(text) == UnitMeta(definition["name"], definition["driver"])


@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda p: p.stem)
def test_every_preset_field_reaches_the_command_line(path: Path, server: str) -> None:
    definition = load(path)
    text = unit_for_definition(definition, Path("/tmp/x.log"), executable=server)
    words, env = exec_start(text), environment(text)
    places = [*words, *env.values(), *directives(text, "WorkingDirectory")]
    expected: list[Any] = [definition["port"]]
    expected += [definition[key] for key in ("model_path", "context_size") if key in definition]
    uv = definition.get("unit_vars", {})
    expected += [value for key, value in uv.items()
                 if key not in GPUMOD_UNIT_VARS | {"extra_args"} and not isinstance(value, bool)]
    for value in expected:
        assert _appears(value, places), f"{path.name}: {value!r} is not in {places}"
    if "extra_args" in uv:
        extra = uv["extra_args"].split()
        assert words[-len(extra):] == extra
    if definition.get("model_id") and not _appears(definition["model_id"], places):
        # llama.cpp with a model file or a router: the id only describes what the file holds.
        assert definition["driver"] == "llamacpp" and ("-m" in words or "--models-dir" in words)
    for flag, key in (("--jinja", "jinja"), ("--enforce-eager", "enforce_eager"),
                      ("--no-models-autoload", "no_models_autoload")):
        assert (flag in words) == bool(uv.get(key)), f"{path.name}: {flag}"
    sleeps = bool(definition.get("supports_sleep")) and definition["driver"] == "vllm"
    assert ("--enable-sleep-mode" in words) == sleeps
    assert (env.get("VLLM_SERVER_DEV_MODE") == "1") == sleeps


def _appears(value: Any, places: list[str]) -> bool:
    if isinstance(value, int | float):
        return any(_number(word) == value for word in places)
    return str(value).replace("$HOME", HOME) in places


def _number(word: str) -> float | None:
    try:
        return float(word)
    except ValueError:
        return None


def test_the_verifier_here_does_report_what_it_dislikes(verify: Verify) -> None:
    # Guards the tests above: an unknown key must reach stderr (exit status 0 all the same).
    status, complaints = verify("[Service]\nExecStart=/bin/true\nExecStarPre=/bin/true\n",
                                "gpumod-check.service")
    assert status == 0 and "ExecStarPre" in complaints


VLLM = {"id": "evil", "name": "Evil", "driver": "vllm", "port": 8000, "vram_mb": 1,
        "model_id": "org/model"}
INJECTED = "x\nExecStartPre=/bin/sh -c evil"


@pytest.mark.parametrize(("patch", "named"), [
    ({"model_id": INJECTED}, "model_id"),
    ({"model_path": "/models/" + INJECTED}, "model_path"),
    ({"unit_vars": {"extra_args": "--a " + INJECTED}}, "extra_args"),
    ({"unit_vars": {"dtype": INJECTED}}, "dtype"),
    ({"name": "Evil\n[Service]\nExecStartPre=/bin/sh -c evil"}, "description"),
    ({"name": "Evil\r"}, "description"),
    ({"name": "Evil \\"}, "description"),
    ({"name": "Evil\u2028ExecStartPre=/bin/sh"}, "description"),
    ({"unit_template": "../../../etc/passwd"}, "unit_template"),
    ({"unit_vars": {"unknown_key": 1}}, "unknown_key"),
    ({"driver": "docker"}, "docker services run as containers"),
])
def test_a_preset_value_that_could_inject_is_refused_by_name(
        patch: dict[str, Any], named: str, server: str) -> None:
    with pytest.raises(ValueError, match=named):
        unit_for_definition({**VLLM, **patch}, Path("/tmp/x.log"), executable=server)


HOSTILE = "$HOME ${HOME} %h %% ; && | `id` $(id) \" ' \\ a b"


def test_hostile_preset_values_stay_single_arguments(
        server: str, verify: Verify) -> None:
    definition = {**VLLM, "model_id": HOSTILE, "name": "100% %n $HOME",
                  "unit_vars": {"extra_args": "--x '$HOME; rm -rf /' --y=%h \"a b\""}}
    text = unit_for_definition(definition, Path("/tmp/logs/evil.log"), executable=server)
    assert verify(text, "gpumod-evil.service") == (0, "")
    words = exec_start(text)
    assert words[:3] == [server, "serve", HOSTILE]
    assert words[-4:] == ["--x", "$HOME; rm -rf /", "--y=%h", "a b"]
    assert one(text, "Description") == "100%% %%n $HOME"
    assert installed_meta(text) == UnitMeta("100% %n $HOME", "vllm")
    assert sum(line.startswith("Exec") for line in text.splitlines()) == 3  # Pre, Start, StopPost


@pytest.mark.parametrize("bad", ["\n", "\r", "\x00", "\x1b[2J", "\u2028", "\u2029", "\x85", "\t"])
def test_no_control_or_line_break_character_reaches_a_unit(bad: str, server: str) -> None:
    meta, log = UnitMeta("ok"), Path("/tmp/x.log")
    cases = [
        (LaunchSpec("svc", (server, "--ok", f"a{bad}b")), "command-line argument 2"),
        (LaunchSpec("svc", (server,), env={"NAME": f"a{bad}b"}), "environment NAME"),
        (LaunchSpec("svc", (server,), cwd=Path(f"/tmp/a{bad}b")), "working directory"),
    ]
    for spec, named in cases:
        with pytest.raises(ValueError, match=named):
            render_unit(spec, meta, log)
    with pytest.raises(ValueError, match="log file"):
        render_unit(LaunchSpec("svc", (server,)), meta, Path(f"/tmp/a{bad}b.log"))
    with pytest.raises(ValueError, match="description"):
        render_unit(LaunchSpec("svc", (server,)), UnitMeta(f"a{bad}b"), log)


@pytest.mark.parametrize(("spec", "named"), [
    (LaunchSpec("svc", (sys.executable,), env={"A=B": "x"}), "environment name 'A=B'"),
    (LaunchSpec("svc", (sys.executable,), env={"A B": "x"}), "environment name 'A B'"),
    (LaunchSpec("svc", (sys.executable,), cwd=Path("relative/dir")), "absolute"),
    (LaunchSpec("svc", (sys.executable,), cwd=Path("/a\\b")), "backslash"),
    (LaunchSpec("svc", ("./server",)), r"svc: program './server'.*absolute path"),
    (LaunchSpec("svc", ("no-such-server-anywhere",)),
     "svc: program 'no-such-server-anywhere' not found on PATH"),
    (LaunchSpec("svc", ("/nonexistent/server",)), "is not an executable file"),
    (LaunchSpec("svc", ()), "nothing to run"),
    (LaunchSpec("Bad/Id", (sys.executable,)), "not a valid id"),
])
def test_what_cannot_be_written_safely_is_refused(spec: LaunchSpec, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        render_unit(spec, UnitMeta("ok"), Path("/tmp/x.log"))


def test_a_program_named_without_a_path_is_resolved_now(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "llama-server").write_text("#!/bin/sh\n")
    (tmp_path / "llama-server").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    text = render_unit(LaunchSpec("svc", ("llama-server", "--port", "1")), UnitMeta("x"),
                       Path("/tmp/x.log"))
    assert exec_start(text) == [str(tmp_path / "llama-server"), "--port", "1"]


def test_the_preset_may_choose_one_of_the_templates(server: str) -> None:
    text = unit_for_definition({**VLLM, "unit_template": "llamacpp.service.j2"},
                               Path("/tmp/x.log"), executable=server)
    assert "# gpumod template: llamacpp" in text and "llama.cpp" in one(text, "Documentation")


def test_templates_render_sandboxed_and_strict() -> None:
    from jinja2.exceptions import SecurityError, UndefinedError

    from gpumod.adapters.process import units

    environment = units._environment()
    with pytest.raises(UndefinedError):
        environment.from_string("{{ not_given }}").render()
    with pytest.raises(SecurityError):
        environment.from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}").render()
    assert environment.from_string("{{ '<&>' }}").render() == "<&>"  # no HTML escaping


def test_every_driver_has_a_template_shipped_with_the_package() -> None:
    for driver in driver_names():
        if driver != "docker":  # containers run through the Docker API, never as units
            assert (TEMPLATE_DIR / f"{driver}.service.j2").is_file(), driver
    assert not (TEMPLATE_DIR / "docker.service.j2").exists()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "templates/*.j2" in config["tool"]["setuptools"]["package-data"][
        "gpumod.adapters.process"]


def test_units_go_where_the_user_manager_reads_them() -> None:
    assert user_unit_dir({"XDG_CONFIG_HOME": "/x/config", "HOME": "/h"}) == Path(
        "/x/config/systemd/user")
    assert user_unit_dir({"HOME": "/h"}) == Path("/h/.config/systemd/user")
    assert unit_name("qwen3-coder") == "gpumod-qwen3-coder.service"
    assert installed_meta("[Service]\nDescription=hand made\n") is None
