"""Small synchronous HTTP helpers the drivers share, over one lazily made httpx client.

Every server gpumod manages listens on 127.0.0.1, so the client ignores proxy settings from the
environment and skips TLS set-up (which costs ~0.1 s per client). httpx itself is imported on
first use, so importing a driver module stays cheap.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from gpumod.adapters.drivers.base import DriverError, Health
from gpumod.adapters.drivers.validation import HOST, field, port, url_path

if TYPE_CHECKING:
    import httpx

PROBE_TIMEOUT_S = 2.0  # health and state reads
ACTION_TIMEOUT_S = 60.0  # sleep/wake calls: a big model takes seconds to move
CONNECT_TIMEOUT_S = 1.0

_client: httpx.Client | None = None
_client_pid: int | None = None
_client_lock = threading.Lock()

T = TypeVar("T")
Params = Mapping[str, str]


@dataclass(frozen=True)
class Reply:
    status: int
    text: str
    json: Any  # the parsed body, or None when it was not JSON

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Unreachable(DriverError):
    """Nothing answered (refused, reset, timed out): `status` is None."""


def base_url(definition: Mapping[str, Any]) -> str:
    return f"http://{HOST}:{port(definition)}"


def client() -> httpx.Client:
    """One client per process (re-made after a fork), safe to share between threads."""
    global _client, _client_pid
    with _client_lock:
        if _client is None or _client_pid != os.getpid():
            import httpx

            _client = httpx.Client(verify=False, trust_env=False, follow_redirects=False)
            _client_pid = os.getpid()
        return _client


def request(definition: Mapping[str, Any], method: str, path: str, *,
            params: Params | None = None,
            json: Any = None, timeout: float = PROBE_TIMEOUT_S) -> Reply:
    """One call; raises `Unreachable` when no HTTP answer came back."""
    import httpx

    url = base_url(definition) + path
    try:
        response = client().request(
            method, url, params=params, json=json,
            timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_S, timeout)))
    except httpx.TransportError as exc:
        raise Unreachable(f"{method} {url}: no answer ({_reason(exc)})") from None
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    return Reply(response.status_code, response.text, body)


def call(definition: Mapping[str, Any], method: str, path: str, what: str, *,
         params: Params | None = None,
         json: Any = None, timeout: float = ACTION_TIMEOUT_S) -> Reply:
    """A state-changing call: anything but a 2xx answer is a DriverError carrying the status."""
    reply = request(definition, method, path, params=params, json=json, timeout=timeout)
    if not reply.ok:
        shown = path + ("?" + "&".join(f"{k}={v}" for k, v in _pairs(params)) if params else "")
        raise DriverError(f"{what}: {method} {shown} answered {reply.status}"
                          f"{': ' + error_message(reply) if error_message(reply) else ''}",
                          status=reply.status)
    return reply


def probe(definition: Mapping[str, Any], path: str) -> Health:
    """GET `path`: ready on a 2xx; otherwise not ready, with the server's own message."""
    try:
        reply = request(definition, "GET", path)
    except Unreachable as exc:
        return Health(False, None, str(exc))
    if reply.ok:
        return Health(True, reply.status, "")
    return Health(False, reply.status, error_message(reply) or f"HTTP {reply.status}")


def probe_health(definition: Mapping[str, Any]) -> Health:
    """Probe the preset's health endpoint (default /health), as every driver does."""
    return probe(definition, url_path(field(definition, "health_endpoint"), "health_endpoint"))


def get_json(definition: Mapping[str, Any], path: str) -> Any | None:
    """A JSON document from a 2xx GET, else None (unreachable, error status, not JSON)."""
    try:
        reply = request(definition, "GET", path)
    except Unreachable:
        return None
    return reply.json if reply.ok else None


def answers(definition: Mapping[str, Any], path: str) -> bool:
    """Whether any HTTP answer comes back (whatever its status)."""
    try:
        request(definition, "GET", path)
    except Unreachable:
        return False
    return True


def error_message(reply: Reply) -> str:
    """What the server said went wrong: vLLM/FastAPI `detail`, llama.cpp `error.message`, ..."""
    body = reply.json
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        for key in ("error", "detail", "message"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return reply.text.strip()[:200]


def poll(check: Callable[[], T | None], timeout_s: float, what: str,
         first_s: float = 0.02, max_s: float = 0.25) -> T:
    """Call `check` until it returns something other than None; DriverError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    interval = first_s
    while True:
        result = check()
        if result is not None:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DriverError(f"{what}: not done after {timeout_s:g} s")
        time.sleep(min(interval, remaining))
        interval = min(interval * 1.5, max_s)


def _pairs(params: Params | None) -> list[tuple[str, str]]:
    return list(params.items()) if params else []


def _reason(exc: Exception) -> str:
    name = type(exc).__name__
    return f"{name}: {exc}" if str(exc) else name
