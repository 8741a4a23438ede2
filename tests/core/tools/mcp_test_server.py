"""A small MCP server written with the ``mcp`` SDK, for the tool tests (run as its own process).

    python mcp_test_server.py stdio
    python mcp_test_server.py http PORT [TOKEN]   streamable HTTP at /mcp; with TOKEN, requests
                                                  need ``Authorization: Bearer TOKEN``
    python mcp_test_server.py sse PORT            SSE at /sse

Tools: ``add`` (read-only), ``remember`` (changes something: the app asks first), ``notes.count``
(a name the realtime service would refuse as is), ``crash``
(the process dies mid-call), ``nap`` (a slow tool).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("azassist-test")
notes: list[str] = []


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def add(a: int, b: int) -> str:
    """Add two whole numbers."""
    return f"{a} + {b} = {a + b}"


@server.tool()
def remember(note: str) -> str:
    """Keep a note."""
    notes.append(note)
    return f"Noted ({len(notes)} so far): {note}"


@server.tool(name="notes.count", annotations=ToolAnnotations(read_only_hint=True))
def count_notes() -> str:
    """How many notes there are (a dotted name, as some servers use)."""
    return f"{len(notes)} notes"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def crash() -> str:
    """Dies mid-call, as a broken server does."""
    sys.stdout.flush()
    os._exit(3)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
async def nap(seconds: float) -> str:
    """Take a while."""
    await asyncio.sleep(seconds)
    return f"Slept {seconds} s."


def main() -> None:
    transport = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if transport == "stdio":
        server.run("stdio")
        return
    import uvicorn
    from starlette.middleware.base import BaseHTTPMiddleware
    from starlette.responses import PlainTextResponse

    port = int(sys.argv[2])
    token = sys.argv[3] if len(sys.argv) > 3 else ""
    app = server.sse_app() if transport == "sse" else server.streamable_http_app()
    if token:

        async def check(request: Any, call_next: Any) -> Any:
            if request.headers.get("authorization") != f"Bearer {token}":
                return PlainTextResponse("unauthorized", status_code=401)
            return await call_next(request)

        app.add_middleware(BaseHTTPMiddleware, dispatch=check)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
