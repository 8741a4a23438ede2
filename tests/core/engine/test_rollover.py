"""The conversation survives a new WebSocket: LiveKit's planned rollover and a dropped socket."""

from __future__ import annotations

import pytest

from azassist.core.events import ConnectionState, StateChanged, Warning

from .conftest import harness, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def test_session_rollover_keeps_the_conversation() -> None:
    async with harness(engine_kwargs={"max_session_duration": 1.0}) as h:
        h.server.scripted.queue_reply("My name is Ada.")
        h.engine.send_text("what is your name?")
        await h.replies(1)
        first_session = h.server.sessions[0].id

        await until(lambda: len(h.server.sessions) >= 2, 10, "LiveKit to open a new session")
        second = h.server.sessions[-1].id
        assert second != first_session
        replayed = await until(
            lambda: [e["item"] for e in h.server.received.of_type("conversation.item.create", second)], 10, "replay"
        )
        assert [(i["role"], i["content"][0].get("text")) for i in replayed] == [
            ("user", "what is your name?"),
            ("assistant", "My name is Ada."),
        ]
        h.server.scripted.queue_reply("Ada, as I said.")
        h.engine.send_text("say it again")
        replies = await h.replies(2)
        assert replies[-1].text == "Ada, as I said."
        turn = h.server.scripted.turns[-1]
        assert [item.role for item in turn.conversation if item.type == "message"][:3] == ["user", "assistant", "user"]
        # Transparent: the engine never left the connected state, and nothing failed.
        assert ConnectionState.FAILED not in {e.connection for e in h.of(StateChanged)}
        assert not h.errors()
        assert [u.text for u in h.finals("user")] == ["what is your name?", "say it again"]


async def test_dropped_socket_reconnects_with_the_conversation() -> None:
    async with harness() as h:
        h.server.scripted.queue_reply("Remember the number 42.")
        h.engine.send_text("give me a number")
        await h.replies(1)
        await h.server.faults.drop_connections()
        await until(lambda: h.of(Warning), 10, "a reconnecting warning")
        assert ConnectionState.RECONNECTING in {e.connection for e in h.of(StateChanged)}
        await until(lambda: len(h.server.live_sessions) == 1 and len(h.server.sessions) == 2, 10, "a new session")
        await h.connected()
        h.server.scripted.queue_reply("It was 42.")
        h.engine.send_text("which number?")
        replies = await h.replies(2)
        assert replies[-1].text == "It was 42."
        texts = [item.text for item in h.server.scripted.turns[-1].conversation if item.type == "message"]
        assert "Remember the number 42." in texts
        assert not [e for e in h.errors() if e.fatal]
