"""Running the real `gpumod` command in a subprocess, on a SQLite file in a temporary folder."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES

SCRIPT = Path(sys.executable).with_name("gpumod")
COMMAND_TIMEOUT_S = 120  # a guard against a hung command, not a measurement
USER = "alice"


def gpumod_argv() -> list[str]:
    """The installed console script; the same entry point through this Python otherwise."""
    if SCRIPT.is_file():
        return [str(SCRIPT)]
    return [sys.executable, "-c", "from gpumod.adapters.cli.main import run; run()"]


@dataclass(frozen=True)
class Result:
    args: Sequence[str]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]

    def __str__(self) -> str:
        return (f"gpumod {' '.join(self.args)} -> exit {self.code}\n"
                f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


class Gpumod:
    """`gpumod --db <file> ...` as a user would type it, with a pinned user name and zone."""

    def __init__(self, db: Path, home: Path) -> None:
        self.db = db
        self.env = {key: value for key, value in os.environ.items() if key != "GPUMOD_DB"}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), USER=USER,
                        LOGNAME=USER, TZ="UTC", PYTHONUNBUFFERED="1")

    def argv(self, *args: str, db: Path | None = None) -> list[str]:
        return [*gpumod_argv(), "--db", str(db or self.db), *args]

    def run(self, *args: str, db: Path | None = None, env: dict[str, str] | None = None,
            use_db: bool = True) -> Result:
        argv = self.argv(*args, db=db) if use_db else [*gpumod_argv(), *args]
        done = subprocess.run(argv, capture_output=True, text=True, env=env or self.env,
                              timeout=COMMAND_TIMEOUT_S, check=False)
        return Result(tuple(argv[len(gpumod_argv()):]), done.returncode, done.stdout,
                      done.stderr)

    def ok(self, *args: str, db: Path | None = None) -> Result:
        result = self.run(*args, db=db)
        assert result.code == 0, str(result)
        return result

    def fails(self, *args: str, db: Path | None = None) -> Result:
        result = self.run(*args, db=db)
        assert result.code != 0, str(result)
        assert "Traceback" not in result.stderr, str(result)
        return result

    def history(self, *args: str, db: Path | None = None) -> list[dict[str, Any]]:
        return self.ok("history", "--json", *args, db=db).json_lines()


def event_count(db: Path) -> int:
    """Events in the file, read without gpumod."""
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


@pytest.fixture
def gpumod(tmp_path: Path) -> Gpumod:
    (tmp_path / "home").mkdir()
    return Gpumod(tmp_path / "gpumod.db", tmp_path / "home")


@pytest.fixture
def config_dir(tmp_path: Path, examples: Path) -> Path:
    """A private copy of the example presets and modes, which tests may edit."""
    target = tmp_path / "config"
    shutil.copytree(examples, target)
    return target


@pytest.fixture(scope="session")
def initialized_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `gpumod init` of the examples per session; tests get copies of its file."""
    examples = EXAMPLES
    if not examples.is_dir():
        pytest.fail(f"example presets missing: {examples}")
    folder = tmp_path_factory.mktemp("template")
    (folder / "home").mkdir()
    runner = Gpumod(folder / "gpumod.db", folder / "home")
    runner.ok("init", "--preset-dir", str(examples / "presets"),
              "--mode-dir", str(examples / "modes"))
    return runner.db


@pytest.fixture
def initialized(gpumod: Gpumod, initialized_template: Path) -> Gpumod:
    """A log holding the 14 example presets and 8 modes (23 events), as `gpumod init` made it."""
    for suffix in ("", "-wal", "-shm"):
        source = initialized_template.with_name(initialized_template.name + suffix)
        if source.exists():
            shutil.copyfile(source, gpumod.db.with_name(gpumod.db.name + suffix))
    return gpumod


@pytest.fixture
def switching(initialized: Gpumod) -> Iterator[Gpumod]:
    """The example presets and modes, with fast stand-ins; every service stopped afterwards."""
    from tests.e2e.switching import stop_everything, write_behaviours

    write_behaviours(initialized.db.parent / "state")
    yield initialized
    stop_everything(initialized)
