"""The simulator's tamper hooks, on a real socket: each action does what the fuzzer relies on,
and everything a hook keeps is still validated against the official models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from azassist.simulator import LocalRealtimeServer
from azassist.simulator.faults import KEEP, Action, Close, Emit, Hangup, Pause, RawBinary, RawText, Stall, TamperContext
from tests.simulator.support import RawClient

from .faults import PointHook

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]
KEY = "test-key"


@pytest_asyncio.fixture
async def server() -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(api_key=KEY, responder="scripted", pace=0, strict_validation=True,
                                   deployments=("gpt-realtime",)) as running:  # fmt: skip
        running.scripted.default_reply = "one two three four five six"
        yield running
    assert not running.violations


async def _ask(client: RawClient) -> None:
    await client.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
    await client.next("session.updated")
    await client.send({"type": "response.create"})


async def _frames(client: RawClient, timeout: float = 2.0) -> list[aiohttp.WSMessage]:
    """Every frame until the socket closes or nothing comes for ``timeout`` seconds."""
    frames: list[aiohttp.WSMessage] = []
    while True:
        try:
            message = await client.ws.receive(timeout=timeout)
        except TimeoutError:
            return frames
        frames.append(message)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            return frames


def _types(frames: Sequence[aiohttp.WSMessage]) -> list[str]:
    import json

    found = []
    for frame in frames:
        if frame.type is aiohttp.WSMsgType.TEXT:
            try:
                found.append(str(json.loads(frame.data).get("type")))
            except (ValueError, AttributeError):
                found.append("<not json>")
        else:
            found.append(f"<{frame.type.name}>")
    return found


async def test_replace_insert_and_drop_events_of_the_next_reply(server: LocalRealtimeServer) -> None:
    seen: list[TamperContext] = []

    def hook(event: dict[str, Any], context: TamperContext) -> Sequence[Action] | None:
        seen.append(context)
        if event["type"] == "response.output_text.delta" and context.text_deltas == 2:
            forged = {"type": "response.output_text.delta", "response_id": context.response_id, "item_id": context.item_id,
                      "output_index": 0, "content_index": 0, "delta": 42}  # fmt: skip
            return [RawText("not json"), RawBinary(b"\x00\x01"), Emit(forged)]
        if event["type"] == "response.done":
            return []
        return None

    server.faults.tamper_next_reply(hook)
    async with RawClient.connect(server, api_key=KEY) as client:
        await _ask(client)
        types = _types(await _frames(client, timeout=1.0))
    assert "<not json>" in types and "<BINARY>" in types
    assert "response.done" not in types and "rate_limits.updated" in types
    assert types.count("response.output_text.delta") == 6  # 5 kept + 1 forged in place of the third
    assert seen[0].response_id and seen[-1].item_id
    faults = [e for e in server.sent if e.fault]
    assert [e.type for e in faults] == ["<malformed>", "<binary>", "response.output_text.delta"]


async def test_after_replies_skips_whole_replies_and_the_hook_ends_with_its_reply(server: LocalRealtimeServer) -> None:
    shown: list[str] = []

    def hook(event: dict[str, Any], context: TamperContext) -> None:
        shown.append(str(context.response_id))

    server.faults.tamper_next_reply(hook, after_replies=1)
    async with RawClient.connect(server, api_key=KEY) as client:
        await _ask(client)
        first = await client.next("response.done")
        await client.send({"type": "response.create"})
        second = await client.next("response.done")
        await client.send({"type": "response.create"})
        await client.next("response.done")
    assert set(shown) == {second["response"]["id"]} != {first["response"]["id"]}


@pytest.mark.parametrize("code", [1000, 1011, 4001])
async def test_close_with_a_code_mid_reply(server: LocalRealtimeServer, code: int) -> None:
    server.faults.tamper_next_reply(PointHook("mid", 2, lambda e, c: [Close(code, "fuzz")]))
    async with RawClient.connect(server, api_key=KEY) as client:
        await _ask(client)
        frames = await _frames(client)
        assert _types(frames).count("response.output_text.delta") == 2
        assert frames[-1].type is aiohttp.WSMsgType.CLOSE and frames[-1].data == code


async def test_stall_keeps_the_socket_open_and_silent(server: LocalRealtimeServer) -> None:
    server.faults.tamper_next_reply(PointHook("mid", 1, lambda e, c: [Stall()]))
    async with RawClient.connect(server, api_key=KEY) as client:
        await _ask(client)
        types = _types(await _frames(client, timeout=1.0))
        assert types.count("response.output_text.delta") == 1 and "response.done" not in types
        await client.send({"type": "response.cancel"})  # still read, never answered
        assert await _frames(client, timeout=0.5) == []
        assert not client.ws.closed


async def test_hangup_delivers_what_was_sent_then_fin(server: LocalRealtimeServer) -> None:
    server.faults.tamper_next_reply(PointHook("after", 0, lambda e, c: [KEEP, Pause(0.1), Hangup()]))
    async with RawClient.connect(server, api_key=KEY) as client:
        await _ask(client)
        frames = await _frames(client)
    assert "response.done" in _types(frames)
    assert frames[-1].type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert [e.type for e in server.sent if e.fault] == ["<hangup>"]


async def test_session_tamper_sees_the_session_from_its_first_event(server: LocalRealtimeServer) -> None:
    seen: list[str] = []

    def hook(event: dict[str, Any], context: TamperContext) -> Sequence[Action] | None:
        seen.append(event["type"])
        return [KEEP, Emit({"type": "simulator.after_created"})] if event["type"] == "session.created" else None

    server.faults.tamper_next_session(hook)
    async with RawClient.connect(server, api_key=KEY) as client:
        await client.next("simulator.after_created")
        await _ask(client)
        await client.next("response.done")
    assert seen[0] == "session.created" and "response.done" in seen
    await asyncio.sleep(0)
