"""Whole conversations through the engine: spoken, typed, push-to-talk, barge-in, text-only,
text + separate TTS; what the user sees (events) and what is kept (the conversation file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from azassist.core.engine import Engine
from azassist.core.events import (
    Activity,
    AssistantText,
    Notice,
    TurnLatency,
    Usage,
    UserTranscript,
)
from azassist.core.transcript import read_conversation
from azassist.simulator.speech import speak_or_beep

from .conftest import harness, speech, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def test_hands_free_spoken_turn(tmp_path: Path) -> None:
    async with harness(pace=4, conversations_dir=tmp_path) as h:
        h.server.scripted.queue_transcript("what's the weather like")
        h.server.scripted.queue_reply("It is sunny and warm today.")
        h.mic.feed(speech())
        [reply] = await h.replies(1)
        assert reply.text == "It is sunny and warm today."
        assert not reply.interrupted
        assert [u.text for u in h.finals("user")] == ["what's the weather like"]
        # The reply was heard on the virtual speaker, not just received.
        assert len(h.speaker.heard) > 24_000 * 0.5
        assert np.abs(h.speaker.heard).max() > 1000
        # Partial text arrived before the final, paced to playback.
        partials = [e for e in h.of(AssistantText) if not e.final]
        assert partials and partials[-1].turn_id == reply.turn_id
        [latency] = h.of(TurnLatency)
        assert latency.trigger == "speech" and latency.seconds > 0 and latency.turn_id == reply.turn_id
        usage = [u for u in h.of(Usage) if u.turn_id == reply.turn_id]
        assert usage and usage[0].output_tokens > 0
        assert usage[-1].conversation_total >= usage[0].input_tokens + usage[0].output_tokens
        assert Activity.USER_SPEAKING in {e.activity for e in h.events if hasattr(e, "activity")}
        # The server VAD made the turn: no client commit on the wire.
        assert h.sent_to_server("input_audio_buffer.commit") == []
    conversation = read_conversation(next(tmp_path.glob("*.jsonl")))
    assert [(t.role, t.text, t.source) for t in conversation.turns] == [
        ("user", "what's the weather like", "speech"),
        ("assistant", "It is sunny and warm today.", "reply"),
    ]
    assistant = conversation.turns[1]
    assert assistant.latency_s is not None and assistant.usage is not None
    assert conversation.header["settings"]["deployment"] == "gpt-realtime"


async def test_typed_message_interrupts_the_assistant(tmp_path: Path) -> None:
    long_reply = "This is a long answer that keeps going for quite a while so it can be cut off."
    async with harness(pace=1, conversations_dir=tmp_path) as h:
        h.server.scripted.queue_reply(long_reply)
        h.server.scripted.queue_reply("Sure, changing the subject.")
        h.engine.send_text("tell me a long story")
        await until(lambda: h.engine.activity is Activity.ASSISTANT_SPEAKING, 10, "the assistant to speak")
        await until(lambda: any(not e.final and e.text for e in h.of(AssistantText)), 10, "some words heard")
        h.engine.send_text("stop, something else")
        replies = await h.replies(2)
        assert replies[0].interrupted
        assert replies[0].text and replies[0].text != long_reply
        assert long_reply.startswith(replies[0].text.rstrip(" .,"))
        assert replies[1].text == "Sure, changing the subject."
        assert [u.text for u in h.finals("user")] == ["tell me a long story", "stop, something else"]
        assert {lat.trigger for lat in h.of(TurnLatency)} == {"typed"}
        assert h.sent_to_server("response.cancel")
        truncate = h.sent_to_server("conversation.item.truncate")
        assert truncate and truncate[0]["audio_end_ms"] < 8000
    turns = read_conversation(next(tmp_path.glob("*.jsonl"))).turns
    assert [(t.role, t.interrupted, t.source) for t in turns] == [
        ("user", False, "typed"), ("assistant", True, "reply"), ("user", False, "typed"), ("assistant", False, "reply"),
    ]


async def test_barge_in_stops_the_assistant_and_keeps_only_what_was_heard() -> None:
    long_reply = "Let me explain in great detail, step by step, everything there is to know about this."
    async with harness(pace=1, audio_pace=1) as h:
        h.server.scripted.queue_reply(long_reply)
        h.server.scripted.queue_transcript("wait a second")
        h.server.scripted.queue_reply("Yes?")
        h.engine.send_text("explain everything")
        await until(lambda: any(not e.final and len(e.text) > 10 for e in h.of(AssistantText)), 10, "words heard")
        h.mic.feed(speech("wait a second please"))
        first, second = await h.replies(2, timeout=20)
        assert first.interrupted
        assert first.text and len(first.text) < len(long_reply)
        assert long_reply.startswith(first.text.rstrip(" .,"))
        assert second.text == "Yes?"
        assert [u.text for u in h.finals("user")] == ["explain everything", "wait a second"]
        # The speaker stopped at once: what was heard of the first reply is a part of it.
        position, interrupted = h.speaker.segments[0]
        assert interrupted
        assert 0 < position < len(speak_or_beep(long_reply)) / 24_000
        assert len(h.speaker.played[0]) == pytest.approx(position * 24_000, abs=1)
        # And the server was told how much was heard.
        [truncate] = h.sent_to_server("conversation.item.truncate")
        assert truncate["audio_end_ms"] == pytest.approx(position * 1000, abs=5)


async def test_push_to_talk_and_a_short_tap() -> None:
    async with harness(pace=4, turn_detection={"mode": "manual"}) as h:
        session_update = h.sent_to_server("session.update")[0]
        assert session_update["session"]["audio"]["input"]["turn_detection"] is None
        assert not h.engine.hands_free
        # Speech while the key is up is never sent.
        h.mic.feed(speech("nobody is listening"))
        await until(lambda: h.mic.idle, 10, "the ignored speech to pass")
        assert h.finals("user") == []

        # A tap: pressed and released before any audio was captured.
        h.engine.push_to_talk_press()
        h.engine.push_to_talk_release()
        assert any("too short" in n.message for n in h.of(Notice))
        assert h.sent_to_server("input_audio_buffer.commit") == []

        # A real press: speak, release, get the answer.
        h.server.scripted.queue_transcript("turn on the lights")
        h.server.scripted.queue_reply("Lights are on.")
        h.engine.push_to_talk_press()
        assert h.engine.activity is Activity.USER_SPEAKING
        h.mic.feed(speech("turn on the lights"))
        await until(lambda: h.mic.idle, 10, "the speech to be captured")
        h.engine.push_to_talk_release()
        [reply] = await h.replies(1)
        assert reply.text == "Lights are on."
        assert [u.text for u in h.finals("user")] == ["turn on the lights"]
        assert len(h.sent_to_server("input_audio_buffer.commit")) == 1
        assert len(h.sent_to_server("response.create")) == 1

        # Cancel: pressed, spoke, cancelled: nothing is answered.
        h.engine.push_to_talk_press()
        h.mic.feed(speech("never mind"))
        await until(lambda: h.mic.idle, 10, "the speech to be captured")
        h.engine.push_to_talk_cancel()
        assert len(h.sent_to_server("input_audio_buffer.commit")) == 1
        assert h.sent_to_server("input_audio_buffer.clear")


async def test_text_only_replies() -> None:
    async with harness(pace=0, model={"modalities": "text"}) as h:
        session = h.sent_to_server("session.update")[0]["session"]
        assert session["output_modalities"] == ["text"]
        h.server.scripted.queue_reply("Plain text answer.")
        h.engine.send_text("hello")
        [reply] = await h.replies(1)
        assert reply.text == "Plain text answer."
        assert len(h.speaker.heard) == 0
        assert h.server.sent.of_type("response.output_text.delta")
        assert not h.server.sent.of_type("response.output_audio.delta")


async def test_text_with_separate_tts(tmp_path: Path) -> None:
    async with harness(
        pace=0, audio_pace=8,
        model={"modalities": "text_tts", "tts_voice": "nova"},
        connection={"tts_deployment": "tts"},
        conversations_dir=tmp_path,
    ) as h:
        assert h.sent_to_server("session.update")[0]["session"]["output_modalities"] == ["text"]
        h.server.scripted.queue_reply("Spoken by the separate voice.")
        h.engine.send_text("hello")
        [reply] = await h.replies(1)
        assert reply.text == "Spoken by the separate voice."
        # The words came as text from the realtime model; the audio that played can only
        # have come from the TTS deployment (the realtime socket carried none).
        assert not h.server.sent.of_type("response.output_audio.delta")
        assert h.server.sent.of_type("response.output_text.delta")
        assert len(h.speaker.heard) > 2400 and np.abs(h.speaker.heard).max() > 1000
    header = read_conversation(next(tmp_path.glob("*.jsonl"))).header["settings"]
    assert (header["tts_deployment"], header["tts_voice"]) == ("tts", "nova")


async def test_new_conversation_starts_a_new_file_and_clears_the_server(tmp_path: Path) -> None:
    async with harness(pace=0, conversations_dir=tmp_path) as h:
        h.engine.send_text("first")
        await h.replies(1)
        first_file = h.engine.conversation_path
        h.engine.new_conversation()
        await until(lambda: h.sent_to_server("conversation.item.delete"), 10, "server history cleared")
        h.engine.send_text("second")
        await h.replies(2)
        assert h.engine.conversation_path != first_file
        assert len(list(tmp_path.glob("*.jsonl"))) == 2
        assert next(t.text for t in read_conversation(h.engine.conversation_path or Path()).turns) == "second"
        assert h.engine.total_tokens[1] > 0


async def test_mute_keeps_the_microphone_off_the_wire() -> None:
    async with harness(pace=4) as h:
        h.engine.set_muted(True)
        h.mic.feed(speech())
        await until(lambda: h.mic.idle, 10, "the speech to pass")
        assert not h.server.sent.of_type("input_audio_buffer.speech_started")
        h.engine.set_muted(False)
        h.server.scripted.queue_transcript("now you hear me")
        h.mic.feed(speech())
        await h.replies(1)
        assert [u.text for u in h.finals("user")] == ["now you hear me"]
        assert isinstance(h.finals("user")[0], UserTranscript)


async def test_the_engine_honours_the_front_end_contract() -> None:
    from azassist.core.events import ConversationEngine, Levels

    members = [name for name in vars(ConversationEngine) if not name.startswith("_")]
    assert members and all(hasattr(Engine, name) for name in members)
    async with harness(pace=4) as h:
        engine: ConversationEngine = h.engine  # the type the window builds against
        h.mic.feed(speech())
        await until(lambda: any(e.input_peak > -30 for e in h.of(Levels)), 10, "the input meter to move")
        seen: list[object] = []
        unsubscribe = engine.subscribe(seen.append)
        await until(lambda: seen, 5, "events to a second listener")
        unsubscribe()
        count, levels_before = len(seen), len(h.of(Levels))
        await until(lambda: len(h.of(Levels)) > levels_before + 3, 5, "more level events")
        assert len(seen) == count


async def test_a_listener_without_meters_gets_no_levels() -> None:
    from azassist.core.events import Levels

    async with harness(pace=4) as h:
        terminal: list[object] = []
        h.engine.subscribe(terminal.append, levels=False)
        h.mic.feed(speech())
        await until(lambda: any(e.input_peak > -30 for e in h.of(Levels)), 10, "the input meter to move")
        await until(lambda: terminal, 10, "other events to the listener without meters")
        assert not any(isinstance(event, Levels) for event in terminal)


async def test_a_quiet_room_is_not_polled_and_speech_wakes_the_meters(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the silence hold the levels loop sleeps until the audio thread hears something;
    with the periodic re-check pushed out of reach, only that wake-up can deliver the speech."""
    from azassist.core.engine import engine as engine_module
    from azassist.core.events import Levels

    monkeypatch.setattr(engine_module, "QUIET_RECHECK_SECONDS", 3600.0)
    async with harness(pace=4) as h:
        meter = h.engine._live.meter.meter  # the session's tap: this harness's audio measures nothing itself
        await until(lambda: meter.waiting_for_sound, 10, "the levels loop to wait on a quiet room")
        quiet_readings = len(h.of(Levels))
        h.mic.feed(speech())
        await until(lambda: any(e.input_peak > -30 for e in h.of(Levels)[quiet_readings:]), 10, "the meter to wake")
        await until(lambda: meter.waiting_for_sound, 20, "quiet again after the speech")


async def test_missing_tts_deployment_is_named_and_the_reply_still_shows() -> None:
    from azassist.core.events import ConnectionState, ErrorKind

    async with harness(pace=0, audio_pace=8, model={"modalities": "text_tts"}, connection={"tts_deployment": "no-tts"}) as h:
        h.server.scripted.queue_reply("Text still arrives.")
        h.engine.send_text("hello")
        error = (await until(lambda: h.errors(), 10, "the TTS error"))[0]
        assert error.kind is ErrorKind.NOT_FOUND and not error.fatal
        assert "no text-to-speech deployment 'no-tts'" in error.message
        assert (await h.replies(1))[0].text == "Text still arrives."
        assert h.engine.connection is ConnectionState.CONNECTED


async def test_interrupt_command_then_disconnect_and_connect_again_keeps_the_conversation() -> None:
    from azassist.core.events import ConnectionState

    long_reply = "Here is a long explanation that will certainly be interrupted by the button."
    async with harness(pace=1) as h:
        h.server.scripted.queue_reply(long_reply)
        h.engine.send_text("explain")
        await until(lambda: any(not e.final and e.text for e in h.of(AssistantText)), 10, "words heard")
        h.engine.interrupt()
        [reply] = await h.replies(1)
        assert reply.interrupted and len(reply.text) < len(long_reply)
        await until(lambda: h.engine.activity is Activity.LISTENING, 5, "listening again")

        await h.engine.disconnect()
        assert h.engine.connection is ConnectionState.DISCONNECTED
        assert h.server.live_sessions == []
        await h.engine.connect()
        await h.connected()
        replayed = [e["item"]["role"] for e in h.server.received.of_type("conversation.item.create", h.server.sessions[-1].id)]
        assert replayed == ["user", "assistant"]
        h.server.scripted.queue_reply("Continuing.")
        h.engine.send_text("go on")
        assert (await h.replies(2))[-1].text == "Continuing."
        assert h.audio_opened == 2  # each connection opens (and closes) its own audio
