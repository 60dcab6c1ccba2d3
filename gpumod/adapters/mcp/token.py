"""The bearer token `gpumod mcp --http` requires: from the environment or a private file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

TOKEN_ENV = "GPUMOD_MCP_TOKEN"
MIN_LENGTH = 16
MAKE_ONE = ("python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > {file} && "
            "chmod 600 {file}")


class TokenMissing(ValueError):
    """No usable token: the message says where gpumod looked and how to make one."""


def default_token_file() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "gpumod" / "mcp-token"


def load_token(file: Path | None) -> str:
    """GPUMOD_MCP_TOKEN if set, else the first line of `file` (default: the config folder's)."""
    if env := os.environ.get(TOKEN_ENV):
        return _checked(env.strip(), f"${TOKEN_ENV}")
    path = file or default_token_file()
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenMissing(
            f"--http needs a bearer token, and neither ${TOKEN_ENV} nor {path} has one. Make "
            f"one with: {MAKE_ONE.format(file=path)} (clients then send 'Authorization: "
            "Bearer <token>')") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenMissing(f"{path} can be read by other users; run: chmod 600 {path}")
    lines = text.splitlines()
    return _checked(lines[0].strip() if lines else "", str(path))


def _checked(token: str, source: str) -> str:
    if len(token) < MIN_LENGTH or any(c.isspace() for c in token):
        raise TokenMissing(f"the token in {source} must be at least {MIN_LENGTH} characters "
                           "with no spaces")
    return token
