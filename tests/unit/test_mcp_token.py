"""Given the environment and the token file / when `gpumod mcp --http` looks for its token / then
it finds a usable one or says where it looked and how to make one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpumod.adapters.mcp.token import TOKEN_ENV, TokenMissing, load_token

GOOD = "k2n1x9Hq0pLw7VbTz4Rs"


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def private(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_the_environment_wins_over_any_file(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv(TOKEN_ENV, f" {GOOD}\n")
    assert load_token(private(tmp_path / "t", "another-token-0123456789")) == GOOD


def test_the_first_line_of_a_private_file(tmp_path: Path) -> None:
    assert load_token(private(tmp_path / "t", f"{GOOD}\n# comment\n")) == GOOD


def test_the_default_file_is_in_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "gpumod"
    folder.mkdir(parents=True)
    private(folder / "mcp-token", GOOD)
    assert load_token(None) == GOOD


def test_no_token_anywhere_says_where_it_looked_and_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(TokenMissing) as missing:
        load_token(None)
    message = str(missing.value)
    assert TOKEN_ENV in message and str(tmp_path / "config" / "gpumod" / "mcp-token") in message
    assert "secrets.token_urlsafe" in message and "Authorization: Bearer" in message


@pytest.mark.parametrize("token", ["", "short", "has a space in it, long enough"])
def test_short_or_spaced_tokens_are_refused(tmp_path: Path, token: str) -> None:
    with pytest.raises(TokenMissing, match="at least 16 characters"):
        load_token(private(tmp_path / "t", token))


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = private(tmp_path / "t", GOOD)
    path.chmod(0o644)
    with pytest.raises(TokenMissing, match="chmod 600"):
        load_token(path)
