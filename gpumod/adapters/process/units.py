"""systemd user units for services: rendered from a `LaunchSpec` through one template per driver.

Every value is validated and quoted here, in Python, before any template sees it; the templates
(`templates/*.service.j2`, rendered sandboxed with strict undefined) only place finished strings.
No value may carry a line break or control character, so none can add a directive; each argv
element becomes exactly one quoted word of ExecStart, with `$` and `%` escaped, so none can add an
argument, expand a variable or a specifier. No shell is involved anywhere.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpumod.adapters.process.base import LaunchSpec
from gpumod.definitions import check_id

UNIT_PREFIX = "gpumod-"
TEMPLATES = ("vllm", "llamacpp", "mistralrs", "fastapi")
GENERIC = "base"  # for a unit started from a bare LaunchSpec, whose driver is not known
TEMPLATE_DIR = Path(__file__).parent / "templates"
STOP_TIMEOUT_S = 30.0  # systemd's own SIGKILL deadline, for stops that gpumod does not drive

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEMPLATE_LINE = re.compile(r"^# gpumod template: ([a-z]+)$", re.MULTILINE)
_DESCRIPTION_LINE = re.compile(r"^Description=(.*)$", re.MULTILINE)
# Unicode categories refused in any value: controls (newline, NUL, ESC...), line and paragraph
# separators, and lone surrogates (not encodable as the UTF-8 systemd requires).
_REFUSED = ("Cc", "Zl", "Zp", "Cs")


@dataclass(frozen=True)
class UnitMeta:
    """What a unit says besides the command: its description and the template it came from."""

    description: str
    template: str = GENERIC


def unit_name(service_id: str) -> str:
    return f"{UNIT_PREFIX}{check_id(service_id)}.service"


def user_unit_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where `systemd --user` reads units written by the user: $XDG_CONFIG_HOME/systemd/user."""
    env = os.environ if environ is None else environ
    config = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(config) / "systemd" / "user"


def template_for(definition: Mapping[str, Any]) -> str:
    """The preset's `unit_template` when set (one of ours, by name), else its driver's."""
    if definition.get("driver") == "docker":
        raise ValueError(f"{definition.get('id')}: docker services run as containers through the "
                         "Docker API, not as systemd units")
    chosen = definition.get("unit_template") or definition.get("driver")
    name = str(chosen).removesuffix(".service.j2")
    if name not in TEMPLATES:
        what = "unit_template" if definition.get("unit_template") else "driver"
        raise ValueError(f"{what} {chosen!r}: no unit template of that name "
                         f"(templates: {', '.join(TEMPLATES)})")
    return name


def meta_for(definition: Mapping[str, Any]) -> UnitMeta:
    return UnitMeta(description=str(definition.get("name") or definition.get("id")),
                    template=template_for(definition))


def unit_for_definition(definition: dict[str, Any], log_file: Path, *,
                        executable: str | None = None,
                        timeout_stop_s: float = STOP_TIMEOUT_S) -> str:
    """The unit of a registered service running its real server (the driver's command line)."""
    from gpumod.adapters.drivers.registry import driver_for

    meta = meta_for(definition)  # first: a docker preset is refused with the template's reason
    spec = driver_for(str(definition.get("driver"))).launch_spec(definition)
    return render_unit(spec, meta, log_file, executable=executable, timeout_stop_s=timeout_stop_s)


def render_unit(spec: LaunchSpec, meta: UnitMeta, log_file: Path, *,
                executable: str | None = None, timeout_stop_s: float = STOP_TIMEOUT_S) -> str:
    """The unit text. `executable` replaces argv[0] (to verify units where the binary is absent).

    ValueError, naming the field, for anything that cannot be written safely."""
    service_id = check_id(spec.service_id)
    if not spec.argv:
        raise ValueError(f"{service_id}: nothing to run (empty command line)")
    if meta.template not in (*TEMPLATES, GENERIC):
        raise ValueError(f"no unit template {meta.template!r}")
    if timeout_stop_s <= 0:
        raise ValueError(f"TimeoutStopSec must be positive, not {timeout_stop_s!r}")
    program = resolve_program(executable or spec.argv[0], f"{service_id}: program")
    arguments = [clean(arg, f"command-line argument {i}") for i, arg in enumerate(spec.argv[1:], 1)]
    values = {
        "service_id": service_id,
        "template": meta.template,
        "unit_name": unit_name(service_id),
        "description": _line_value(meta.description, "description (the preset's name)"),
        "exec_start": " ".join(exec_quote(word) for word in [program, *arguments]),
        "environment": [env_entry(key, value) for key, value in sorted(spec.env.items())],
        "working_directory": (unit_path(str(spec.cwd), "working directory")
                              if spec.cwd is not None else None),
        "echo": exec_quote(_echo()),
        "log_file": unit_path(str(log_file), "log file"),
        "timeout_stop": f"{timeout_stop_s:g}s",
    }
    return _template(meta.template).render(values)


def installed_meta(text: str) -> UnitMeta | None:
    """The description and template of a unit gpumod wrote, read back from its text."""
    template, description = _TEMPLATE_LINE.search(text), _DESCRIPTION_LINE.search(text)
    if template is None or description is None or template[1] not in (*TEMPLATES, GENERIC):
        return None
    return UnitMeta(description=description[1].replace("%%", "%"), template=template[1])


def resolve_program(program: str, what: str = "program") -> str:
    """An absolute path to an executable file: a bare name is looked up on PATH now, because
    the user manager's PATH may differ from this shell's."""
    clean(program, what)
    if "/" not in program:
        found = shutil.which(program)
        if found is None:
            raise ValueError(f"{what} {program!r} not found on PATH ({os.environ.get('PATH')}); "
                             "install it or name its absolute path")
        program = os.path.abspath(found)
    elif not program.startswith("/"):
        raise ValueError(f"{what} {program!r}: a unit needs an absolute path or a name on PATH")
    if not (os.path.isfile(program) and os.access(program, os.X_OK)):
        raise ValueError(f"{what} {program!r} is not an executable file")
    return program


def exec_quote(word: str) -> str:
    """One word of an Exec line (systemd.syntax, systemd.service "Command lines"): double
    quotes, C-escaped backslash and quote, `$` doubled (no variable expansion), `%` doubled (no
    specifier). A program path starts with '/', so no prefix character (`-`, `@`, `+`...) is read
    from it even though systemd parses prefixes after unquoting."""
    return '"' + _escape(word).replace("$", "$$") + '"'


def env_entry(name: str, value: str) -> str:
    """One quoted `Environment=` assignment. systemd does not expand `$` there, only `%`."""
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(f"environment name {name!r} is not a valid variable name")
    return '"' + _escape(f"{name}={clean(value, f'environment {name}')}") + '"'


def unit_path(path: str, what: str) -> str:
    """An absolute path as a directive value (WorkingDirectory, append:): not quoted by systemd,
    so backslashes are refused and only `%` needs escaping."""
    if not path.startswith("/"):
        raise ValueError(f"{what} must be an absolute path, not {path!r}")
    if "\\" in path:
        raise ValueError(f"{what} must not contain a backslash: {path!r}")
    if path != path.strip():
        raise ValueError(f"{what} must not begin or end with white space: {path!r}")
    return clean(path, what).replace("%", "%%")


def clean(value: str, what: str) -> str:
    """`value` unchanged, or ValueError naming `what` if it holds a control character or line
    break (which could end the directive and start another)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, not {value!r}")
    for char in value:
        if unicodedata.category(char) in _REFUSED:
            raise ValueError(f"{what} contains a control or line-break character "
                             f"(U+{ord(char):04X}): {value!r}")
    return value


def _echo() -> str:
    # Writes the run markers; found even where this process's PATH is unusual.
    return resolve_program(shutil.which("echo") or shutil.which("echo", path=os.defpath) or "echo",
                           "the run-marker program")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def _line_value(value: str, what: str) -> str:
    # A plain directive value: a trailing backslash would continue it onto the next line.
    value = clean(value, what).strip()  # systemd strips it anyway
    if value.endswith("\\"):
        raise ValueError(f"{what} must not end with a backslash: {value!r}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value.replace("%", "%%")


@cache
def _environment() -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(loader=FileSystemLoader(TEMPLATE_DIR), undefined=StrictUndefined,
                                autoescape=False, keep_trailing_newline=True, trim_blocks=True,
                                lstrip_blocks=True)


def _template(name: str) -> Template:
    return _environment().get_template(f"{name}.service.j2")
