"""``azassist talk`` with tools: a real subprocess against the local server. Without a window
there is no one to ask, so calls that ask first are refused unless ``--allow-tools``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from azassist.core.transcript import read_conversation
from azassist.simulator import LocalRealtimeServer

from ..test_talk import KEY, _talk

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]


def _browser(tmp_path: Path) -> tuple[Path, Path]:
    opened = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, opened


async def test_the_offline_demo_uses_the_clock_and_timer_tools(tmp_path: Path) -> None:
    status, out, err = await _talk(
        tmp_path, "--demo", "--pace", "0", "--say", "What time is it in Tokyo?", "--say", "Remind me in ten minutes to stretch",
        key=None,
    )
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "You: What time is it in Tokyo?"
    assert lines[1].startswith("Assistant: It is ") and lines[1].endswith("in Asia/Tokyo, UTC+09:00.")
    assert lines[3].startswith("Assistant: Timer set for 10 minutes: 'stretch' goes off at")
    assert "tool: get_current_time(timezone=Asia/Tokyo) → It is" in err
    [saved] = (tmp_path / "data" / "conversations").glob("*.jsonl")
    assert [t.tool for t in read_conversation(saved).tools] == ["get_current_time", "set_timer"]


async def test_a_tool_that_asks_is_refused_without_allow_tools_and_runs_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, opened = _browser(tmp_path)
    monkeypatch.setenv("BROWSER", str(script))  # the subprocess inherits it (webbrowser honours $BROWSER)
    async with LocalRealtimeServer(api_key=KEY, responder="scripted", pace=0) as server:
        target = ("--endpoint", server.endpoint, "--deployment", "gpt-realtime", "--pace", "0")
        server.scripted.queue_tool_call("open_url", {"url": "https://example.org/"}, then="Result: {output}")
        status, out, err = await _talk(tmp_path, *target, "--say", "open example")
        assert status == 0, err
        assert "Assistant: Result: The user did not allow this (open a web address)" in out
        assert "run with --allow-tools" in err and not opened.exists()

        server.scripted.queue_tool_call("open_url", {"url": "https://example.org/"}, then="Result: {output}")
        status, out, err = await _talk(tmp_path, *target, "--say", "open example", "--allow-tools")
        assert status == 0, err
        assert "Assistant: Result: Opened https://example.org/ in the browser." in out
        assert opened.read_text().strip() == "https://example.org/"



async def test_typed_input_is_asked_on_the_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import sys

    from ..test_talk import _env

    script, opened = _browser(tmp_path)
    monkeypatch.setenv("BROWSER", str(script))
    async with LocalRealtimeServer(api_key=KEY, responder="scripted", pace=0) as server:
        server.scripted.queue_tool_call("open_url", {"url": "https://example.org/a"}, then="Result: {output}")
        server.scripted.queue_tool_call("open_url", {"url": "https://example.org/b"}, then="Result: {output}")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "azassist", "--config-dir", str(tmp_path), "talk",
            "--endpoint", server.endpoint, "--deployment", "gpt-realtime", "--pace", "0",
            env=_env(tmp_path, AZURE_OPENAI_API_KEY=KEY),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        seen: list[str] = []

        async def read_until(stream: asyncio.StreamReader, words: str) -> None:
            buffer = ""
            while words not in buffer:
                chunk = await asyncio.wait_for(stream.read(200), 30)
                assert chunk, f"ended before {words!r}: {buffer}"
                buffer += chunk.decode()
            seen.append(buffer)

        await read_until(proc.stderr, "Connected to")
        proc.stdin.write(b"open the first page\n")
        await read_until(proc.stderr, "Allow it? [o]nce, for this [c]onversation, or [N]o: ")
        proc.stdin.write(b"n\n")
        await read_until(proc.stdout, "Assistant: Result: The user did not allow this (open a web address)")
        proc.stdin.write(b"open the second page\n")
        await read_until(proc.stderr, "Allow it?")
        proc.stdin.write(b"o\n")
        await read_until(proc.stdout, "Assistant: Result: Opened https://example.org/b in the browser.")
        proc.stdin.close()
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert opened.read_text().split() == ["https://example.org/b"]
    assert "The assistant wants to: Open a web address (url=https://example.org/a)" in "".join(seen)


async def test_a_script_waits_for_a_slow_mcp_tool_and_its_answer(tmp_path: Path) -> None:
    import json
    import sys

    server_script = Path(__file__).with_name("mcp_test_server.py")
    settings = {"tools": {"mcp_servers": [{"name": "sleepy", "command": sys.executable, "args": [str(server_script), "stdio"]}]}}
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    async with LocalRealtimeServer(api_key=KEY, responder="scripted", pace=0) as server:
        server.scripted.queue_tool_call("nap", {"seconds": 3}, then="Woke: {output}")
        status, out, err = await _talk(
            tmp_path, "--endpoint", server.endpoint, "--deployment", "gpt-realtime", "--pace", "0", "--say", "take a nap",
            "--idle-seconds", "0.3",
        )
    assert status == 0, err
    assert "Assistant: Woke: Slept 3.0 s." in out.splitlines()
    assert "The MCP server 'sleepy' is ready with 5 tools." in err
    assert "tool: sleepy › nap(seconds=3) → Slept 3.0 s." in err
