"""Settings reach the wire, at connect and while talking, without losing the conversation.

Every assertion is on what the local server received, not on what the engine thinks it sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from azassist.core.events import AssistantText, Capability, ConnectionState, Notice
from azassist.core.settings import Settings, with_value

from .conftest import harness, speech, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


def _turn_detection(update: dict[str, Any]) -> Any:
    return update["session"]["audio"]["input"]["turn_detection"]


async def _apply(h: Any, group: str, name: str, value: Any) -> Settings:
    settings = with_value(h.engine.settings, group, name, value)
    await h.engine.apply_settings(settings)
    return settings


async def test_server_vad_numbers_reach_the_wire() -> None:
    async with harness(
        turn_detection={
            "mode": "server_vad", "threshold": 0.7, "prefix_padding_ms": 450, "silence_duration_ms": 900,
            "create_response": True, "interrupt_response": False,
        }
    ) as h:
        first = h.sent_to_server("session.update")[0]
        assert _turn_detection(first) == {
            "type": "server_vad", "threshold": 0.7, "prefix_padding_ms": 450, "silence_duration_ms": 900,
            "create_response": True, "interrupt_response": False,
        }
        # The server applied them (its session.updated echoes the config).
        updated = h.server.sent.of_type("session.updated")[0]["session"]
        assert updated["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 900

        # Changed while talking: a live session.update with the new numbers.
        await _apply(h, "turn_detection", "threshold", 0.3)
        update = await until(
            lambda: [u for u in h.sent_to_server("session.update") if "audio" in u["session"]][1:], 5, "live update"
        )
        assert _turn_detection(update[-1])["threshold"] == 0.3
        assert h.engine.connection is ConnectionState.CONNECTED


async def test_semantic_vad_eagerness_reaches_the_wire() -> None:
    async with harness(turn_detection={"mode": "semantic_vad", "eagerness": "high", "create_response": False}) as h:
        assert _turn_detection(h.sent_to_server("session.update")[0]) == {
            "type": "semantic_vad", "eagerness": "high", "create_response": False, "interrupt_response": True,
        }


async def test_push_to_talk_sends_no_turn_detection_and_switches_live() -> None:
    async with harness(pace=4, turn_detection={"mode": "manual"}) as h:
        assert _turn_detection(h.sent_to_server("session.update")[0]) is None

        # Switch to hands-free while connected: server VAD goes on the wire, speech is answered.
        h.engine.set_hands_free(True)
        await until(
            lambda: any(
                "audio" in u["session"] and _turn_detection(u) and _turn_detection(u)["type"] == "server_vad"
                for u in h.sent_to_server("session.update")
            ),
            5,
            "server VAD on the wire",
        )
        h.server.scripted.queue_transcript("hands free now")
        h.server.scripted.queue_reply("I hear you.")
        h.mic.feed(speech())
        await h.replies(1)
        assert [u.text for u in h.finals("user")] == ["hands free now"]

        # And back to push-to-talk: turn detection null again, and a pressed turn works.
        h.engine.set_hands_free(False)
        await until(
            lambda: _turn_detection([u for u in h.sent_to_server("session.update") if "audio" in u["session"]][-1])
            is None,
            5,
            "turn detection off",
        )
        h.server.scripted.queue_transcript("pressed turn")
        h.engine.push_to_talk_press()
        h.mic.feed(speech())
        await until(lambda: h.mic.idle, 10, "speech captured")
        h.engine.push_to_talk_release()
        await h.replies(2)
        assert [u.text for u in h.finals("user")] == ["hands free now", "pressed turn"]


async def test_instructions_and_speed_apply_live() -> None:
    async with harness() as h:
        await _apply(h, "model", "instructions", "Answer like a pirate.")
        await _apply(h, "voice", "speed", 1.3)
        h.engine.send_text("hello")
        await h.replies(1)
        updates = [u["session"] for u in h.sent_to_server("session.update")]
        assert any(u.get("instructions") == "Answer like a pirate." for u in updates)
        assert any(u.get("audio", {}).get("output", {}).get("speed") == 1.3 for u in updates)
        # The model was asked with the new instructions.
        assert h.server.scripted.turns[-1].instructions == "Answer like a pirate."
        assert not h.errors()


async def test_voice_changes_live_before_the_first_audio_then_needs_a_reconnect() -> None:
    async with harness(pace=0, voice={"voice": "marin"}) as h:
        await _apply(h, "voice", "voice", "cedar")
        await until(
            lambda: any(
                u["session"].get("audio", {}).get("output", {}).get("voice") == "cedar"
                for u in h.sent_to_server("session.update")
            ),
            5,
            "voice on the wire",
        )
        h.server.scripted.queue_reply("Now with cedar.")
        h.engine.send_text("first")
        await h.replies(1)
        assert h.server.scripted.turns[-1].voice == "cedar"

        # After the assistant has spoken the service refuses a new voice: the engine says so.
        updates_before = len(h.sent_to_server("session.update"))
        await _apply(h, "voice", "voice", "alloy")
        [notice] = [n for n in h.of(Notice) if n.setting == "voice.voice"]
        assert "reconnect" in notice.message
        assert len(h.sent_to_server("session.update")) == updates_before
        assert not h.errors()

        # One call reconnects with the new voice and the conversation so far.
        sessions_before = len(h.server.sessions)
        await h.engine.reconnect()
        await h.connected()
        assert len(h.server.sessions) == sessions_before + 1
        new_session = h.server.sessions[-1].id
        first_update = h.server.received.of_type("session.update", new_session)[0]["session"]
        assert first_update["audio"]["output"]["voice"] == "alloy"
        replayed = [e["item"] for e in h.server.received.of_type("conversation.item.create", new_session)]
        assert [i["role"] for i in replayed] == ["user", "assistant"]
        assert replayed[1]["content"][0]["text"] == "Now with cedar."
        h.server.scripted.queue_reply("And now alloy.")
        h.engine.send_text("second")
        replies = await h.replies(2)
        assert replies[-1].text == "And now alloy."
        assert h.server.scripted.turns[-1].voice == "alloy"
        assert len(h.server.scripted.turns[-1].conversation) >= 3


async def test_temperature_is_reported_unsupported_on_ga() -> None:
    async with harness() as h:
        [capability] = [c for c in h.of(Capability) if c.setting == "model.temperature"]
        assert not capability.supported
        assert "not supported by this API version" in capability.reason
        await _apply(h, "model", "temperature", 1.1)
        assert not any("temperature" in u["session"] for u in h.sent_to_server("session.update"))
        assert not h.errors()
        assert [c.supported for c in h.of(Capability)] == [False, False]


async def test_temperature_is_sent_on_the_preview_protocol() -> None:
    async with harness(connection={"api_version": "2025-04-01-preview"}, model={"temperature": 0.7}) as h:
        assert h.server.sessions[0].dialect.name.lower() == "preview"
        [capability] = [c for c in h.of(Capability) if c.setting == "model.temperature"]
        assert capability.supported
        await until(
            lambda: any(u["session"].get("temperature") == 0.7 for u in h.sent_to_server("session.update")),
            5,
            "temperature on the wire",
        )
        await _apply(h, "model", "temperature", 1.1)
        await until(
            lambda: any(u["session"].get("temperature") == 1.1 for u in h.sent_to_server("session.update")),
            5,
            "new temperature on the wire",
        )
        # The server accepted it (no error) and a conversation still works on this protocol.
        h.server.scripted.queue_reply("Preview reply.")
        h.engine.send_text("hello")
        [reply] = await h.replies(1)
        assert reply.text == "Preview reply."
        assert not h.errors()
        assert any(isinstance(e, AssistantText) for e in h.events)
