"""`gpumod mcp --http`: streamable HTTP on /mcp, every request checked for the bearer token."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

PATH = "/mcp"


@dataclass(frozen=True)
class HttpSettings:
    host: str
    port: int
    token: str = field(repr=False)  # never in a log line or a traceback


class BearerGate:
    """Answers 401 to any HTTP request without `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            await send({"type": "http.response.start", "status": 401, "headers": [
                (b"www-authenticate", b'Bearer realm="gpumod"'),
                (b"content-type", b"application/json")]})
            await send({"type": "http.response.body",
                        "body": b'{"error": "missing or wrong bearer token"}'})
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        given = dict(scope["headers"]).get(b"authorization", b"")
        return hmac.compare_digest(given, self.expected)  # same time whatever matches


async def serve_http(server: MCPServer, settings: HttpSettings) -> None:
    app = server.streamable_http_app(streamable_http_path=PATH, host=settings.host)
    config = uvicorn.Config(BearerGate(app, settings.token), host=settings.host,
                            port=settings.port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()
