"""MCP servers end to end: the real engine and local server, LiveKit's MCPToolset, real MCP
servers in their own processes: the third-party ``mcp-server-time`` from the package index
over stdio, a small HTTP server written with the ``mcp`` SDK (its token from the real
keyring), a server that dies mid-call, and one that is not installed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from azassist.core.secrets import Secret
from azassist.core.settings import Settings, SettingsStore
from azassist.core.tools.mcp_config import McpSecrets, McpServerSettings
from azassist.core.tools.policy import Decision, ToolActivity, ToolRequest, ToolServerStatus
from tests.support.services import SecretService

from ..engine.conftest import Harness, harness, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]

HERE = Path(__file__).resolve().parent
TEST_SERVER = HERE / "mcp_test_server.py"
TIME_SERVER = Path(sys.executable).parent / "mcp-server-time"  # installed from the index (pinned)


def stdio(name: str, command: str, *args: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "transport": "stdio", "command": command, "args": list(args), **extra}


def ours(name: str, **extra: Any) -> dict[str, Any]:
    return stdio(name, sys.executable, str(TEST_SERVER), "stdio", **extra)


def statuses(h: Harness) -> dict[str, ToolServerStatus]:
    return {s.server: s for s in h.of(ToolServerStatus)}


def declared(h: Harness) -> set[str]:
    return {t["name"] for e in h.sent_to_server("session.update") for t in e["session"].get("tools") or []}


async def ask(h: Harness, text: str, count: int) -> str:
    h.engine.send_text(text)
    return (await h.replies(count, timeout=30))[count - 1].text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def http_server(transport: str, token: str = "") -> AsyncIterator[str]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(TEST_SERVER), transport, str(port), *([token] if token else []),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async def listening() -> bool:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return False
            writer.close()
            return True

        for _ in range(200):
            if await listening():
                break
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}/{'sse' if transport == 'sse' else 'mcp'}"
    finally:
        process.terminate()
        await process.wait()


async def test_the_third_party_time_server_over_stdio_answers_a_scripted_turn() -> None:
    async with harness(tools={"mcp_servers": [stdio("time", str(TIME_SERVER), "--local-timezone", "UTC")]}) as h:
        await until(lambda: "time" in statuses(h), 30, "the time server")
        status = statuses(h)["time"]
        assert status.ok, status.message
        # its get_current_time clashes with the built-in clock: it goes by the server's name
        assert set(status.tools) == {"time_get_current_time", "convert_time"}
        await until(lambda: "convert_time" in declared(h), 10, "the MCP tools declared")
        assert {"get_current_time", "time_get_current_time", "convert_time"} <= declared(h)
        h.server.scripted.queue_tool_call(
            "convert_time", {"source_timezone": "Europe/Paris", "time": "12:00", "target_timezone": "Asia/Tokyo"},
            then="The server says: {output}",
        )
        reply = await ask(h, "Noon in Paris is what time in Tokyo?", 1)
        assert reply.startswith("The server says: ")
        converted = json.loads(reply.removeprefix("The server says: "))  # the tool's own text, not a content wrapper
        assert converted["target"]["timezone"] == "Asia/Tokyo" and "T20:00" in converted["target"]["datetime"]
        row = [a for a in h.of(ToolActivity) if a.finished][-1]
        assert (row.server, row.tool, row.status) == ("time", "convert_time", "done")  # read-only: not asked


async def test_an_http_server_with_its_token_from_the_keyring(secret_service: SecretService, tmp_path: Path) -> None:
    token = "mcp-token-" + "8" * 20
    asked: list[ToolRequest] = []

    async def confirm(request: ToolRequest) -> Decision:
        asked.append(request)
        return Decision.ALLOW_ONCE

    async with http_server("http", token) as url:
        McpSecrets().set("notes", "header", "Authorization", Secret(f"Bearer {token}"))
        server = {"name": "notes", "transport": "streamable_http", "url": url, "secret_headers": ["Authorization"]}
        settings_file = tmp_path / "settings.json"
        SettingsStore(settings_file).save(Settings.model_validate({"tools": {"mcp_servers": [server]}}))
        assert token not in settings_file.read_text()  # the settings name the header, the keyring holds it
        async with harness(
            tools={"mcp_servers": [server]}, engine_kwargs={"confirm_tool": confirm}, conversations_dir=tmp_path / "talks"
        ) as h:
            await until(lambda: "notes" in statuses(h), 30, "the HTTP server")
            assert statuses(h)["notes"].ok, statuses(h)["notes"].message
            h.server.scripted.queue_tool_call("add", {"a": 2, "b": 40})
            assert "2 + 40 = 42" in await ask(h, "two plus forty", 1)
            assert not asked  # read-only by its annotations
            h.server.scripted.queue_tool_call("remember", {"note": "buy milk"})
            assert "Noted (1 so far): buy milk" in await ask(h, "remember milk", 2)
            assert [r.title for r in asked] == ["notes › remember"]  # not marked read-only: asked
        files = [path for path in tmp_path.rglob("*") if path.is_file()]
        assert any(path.suffix == ".jsonl" for path in files)  # the conversation, with its tool rows
        for path in files:
            assert token not in path.read_text(errors="replace")


async def test_an_http_server_without_its_token_is_reported_and_the_talk_goes_on(secret_service: SecretService) -> None:
    async with http_server("http", "needed-" + "1" * 20) as url:
        server = {"name": "locked", "transport": "streamable_http", "url": url}
        async with harness(tools={"mcp_servers": [server]}) as h:
            await until(lambda: "locked" in statuses(h), 30, "the server's status")
            status = statuses(h)["locked"]
            assert not status.ok and status.message.startswith("The MCP server 'locked'")
            h.server.scripted.queue_reply("Still here.")
            assert await ask(h, "hello?", 1) == "Still here."


async def test_a_server_that_dies_mid_call_is_reported_and_the_conversation_goes_on() -> None:
    async with harness(tools={"mcp_servers": [ours("fragile")]}) as h:
        await until(lambda: "fragile" in statuses(h), 30, "the server")
        assert statuses(h)["fragile"].ok
        h.server.scripted.queue_tool_call("crash", {}, then="Tool said: {output}")
        reply = await ask(h, "crash it", 1)
        assert reply == "Tool said: The MCP server 'fragile' stopped while running crash; its tools are unavailable until you reconnect."
        await until(lambda: not statuses(h)["fragile"].ok, 10, "the server reported down")
        h.server.scripted.queue_tool_call("get_current_time", {})  # the built-in tools still work
        assert (await ask(h, "what time is it", 2)).startswith("It is ")
        h.server.scripted.queue_reply("And we talk on.")
        assert await ask(h, "still there?", 3) == "And we talk on."


async def test_a_missing_server_is_reported_in_plain_words_and_others_still_work() -> None:
    servers = [stdio("ghost", "/nonexistent/azassist-no-such-mcp-server"), ours("helper")]
    async with harness(tools={"mcp_servers": servers}) as h:
        await until(lambda: {"ghost", "helper"} <= set(statuses(h)), 30, "both servers' status")
        ghost = statuses(h)["ghost"]
        assert not ghost.ok
        assert ghost.message == (
            "The MCP server 'ghost' could not start: the program '/nonexistent/azassist-no-such-mcp-server' was not "
            "found. Check its command in Settings › Tools."
        )
        assert statuses(h)["helper"].ok
        assert "notes_count" in statuses(h)["helper"].tools  # the service refuses dots in function names
        h.server.scripted.queue_tool_call("add", {"a": 1, "b": 1})
        assert "1 + 1 = 2" in await ask(h, "one and one", 1)
        h.server.scripted.queue_tool_call("notes_count", {})
        assert await ask(h, "how many notes", 2) == "0 notes"


async def test_the_test_button_lists_the_tools_or_says_why_not() -> None:
    from azassist.core.tools.mcp_servers import test_server

    secrets = McpSecrets()
    ok = await test_server(McpServerSettings.model_validate(stdio("time", str(TIME_SERVER))), secrets)
    assert ok.ok and set(ok.tools) == {"get_current_time", "convert_time"}
    missing = await test_server(McpServerSettings.model_validate(stdio("ghost", "/nonexistent/nothing-here")), secrets)
    assert not missing.ok and "was not found" in missing.message
    async with http_server("sse") as url:
        sse = await test_server(McpServerSettings(name="sse", transport="sse", url=url), secrets)
    assert sse.ok and set(sse.tools) == {"add", "remember", "notes.count", "crash", "nap"}


async def test_a_slow_tool_freezes_nothing_and_the_user_can_interrupt_it() -> None:
    async with harness(tools={"mcp_servers": [ours("sleepy")]}) as h:
        await until(lambda: "sleepy" in statuses(h), 30, "the server")
        h.server.scripted.queue_tool_call("nap", {"seconds": 4}, then=None)
        h.engine.send_text("take your time")
        await until(lambda: any(a.status == "running" for a in h.of(ToolActivity)), 10, "the tool running")
        h.server.scripted.queue_reply("I am still here.")
        h.engine.interrupt()
        h.engine.send_text("are you there?")
        replies = await h.replies(1)
        assert replies[0].text == "I am still here."
        rows = [a for a in h.of(ToolActivity) if a.tool == "nap"]
        assert not any(a.finished for a in rows)  # answered while the tool still ran
        await until(lambda: any(a.finished for a in h.of(ToolActivity)), 15, "the tool's row to finish")
        assert next(a for a in h.of(ToolActivity) if a.finished).result == "Slept 4.0 s."
