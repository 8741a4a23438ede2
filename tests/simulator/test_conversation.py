"""Whole conversations through the unmodified LiveKit client, on both protocol generations."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from azassist.simulator.speech import synthesize

from .conftest import StartSimulator
from .support import make_model, start_conversation, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

GA_REPLY_ORDER = [
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
    "response.output_audio_transcript.delta",
    "response.output_audio.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]
PREVIEW_NAMES = {
    "conversation.item.added": "conversation.item.created",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
}


def expected_reply_order(preview: bool) -> list[str]:
    if not preview:
        return GA_REPLY_ORDER
    return [PREVIEW_NAMES.get(t, t) for t in GA_REPLY_ORDER if t != "conversation.item.done"]


def reply_event_order(types: list[str]) -> list[str]:
    """The reply's events from response.created to response.done, repeats collapsed."""
    start = types.index("response.created")
    end = types.index("response.done", start)
    collapsed: list[str] = []
    for event_type in types[start : end + 1]:
        if event_type in collapsed and event_type.endswith(".delta"):
            continue
        collapsed.append(event_type)
    return collapsed


async def test_typed_message_gets_a_spoken_reply_with_transcript(
    start_simulator: StartSimulator, preview: bool
) -> None:
    server = await start_simulator()
    server.scripted.queue_reply("Hello from the simulator.")
    conversation = await start_conversation(make_model(server, preview=preview))
    try:
        handle = conversation.session.generate_reply(user_input="hi there")
        await handle
        assert handle.exception() is None
        assert await conversation.wait_for_reply() == "Hello from the simulator."
        assert conversation.said("user") == ["hi there"]

        # The typed text reached the "model" as a user item.
        (turn,) = server.scripted.turns
        assert turn.last_user_item is not None and turn.last_user_item.text == "hi there"

        # Everything the server said was played: the speaker holds the reply's audio.
        session = server.sessions[0]
        reply_item = session.items[-1]
        reply_audio = reply_item.audio
        assert reply_item.role == "assistant" and reply_audio is not None
        await until(lambda: len(conversation.speaker.heard) >= len(reply_audio))
        assert np.array_equal(conversation.speaker.heard, reply_audio)

        # The wire: full event order, metadata echoed, usage present.
        wire = [e.type for e in server.sent]
        assert reply_event_order(wire) == expected_reply_order(preview)
        create = server.received.of_type("response.create")[0]
        created = server.sent.of_type("response.created")[0]
        assert created["response"]["metadata"] == create["response"]["metadata"]
        done = server.sent.of_type("response.done")[0]["response"]
        assert done["status"] == "completed"
        assert done["usage"]["output_token_details"]["audio_tokens"] > 0
        assert done["output"][0]["content"][0]["transcript"] == "Hello from the simulator."
    finally:
        await conversation.aclose()


async def test_spoken_turn_runs_vad_transcript_and_reply(
    start_simulator: StartSimulator, preview: bool
) -> None:
    server = await start_simulator()
    server.scripted.queue_transcript("what is the weather like")
    server.scripted.queue_reply("It is sunny.")
    conversation = await start_conversation(make_model(server, preview=preview))
    try:
        utterance = synthesize("What is the weather like today?")
        conversation.mic.feed(np.zeros(12_000, dtype=np.int16))  # room for the prefix padding
        conversation.mic.feed(utterance)
        assert await conversation.wait_for_reply() == "It is sunny."
        assert conversation.said("user") == ["what is the weather like"]
        assert any(t.is_final for t in conversation.user_transcripts)

        types = server.sent.types()
        order = [
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
            "conversation.item.input_audio_transcription.completed",
            "response.created",
        ]
        assert [types.index(t) for t in order] == sorted(types.index(t) for t in order)

        started = server.sent.of_type("input_audio_buffer.speech_started")[0]
        stopped = server.sent.of_type("input_audio_buffer.speech_stopped")[0]
        committed = server.sent.of_type("input_audio_buffer.committed")[0]
        assert started["item_id"] == stopped["item_id"] == committed["item_id"]
        # On the audio's own timeline: the speech plus the 200 ms silence that ended it
        # (espeak's own leading/trailing silence makes the speech slightly shorter).
        measured_ms = stopped["audio_end_ms"] - started["audio_start_ms"]
        utterance_ms = len(utterance) * 1000 // 24_000
        assert utterance_ms - 200 <= measured_ms - 200 <= utterance_ms + 50
        user_item = server.sessions[0].item(committed["item_id"])
        assert user_item is not None and user_item.audio is not None
        # the committed turn carries the 300 ms prefix padding before the onset
        assert len(user_item.audio) * 1000 // 24_000 >= measured_ms + 300 - 10
    finally:
        await conversation.aclose()


async def test_barge_in_cancels_and_truncates_at_the_heard_position(
    start_simulator: StartSimulator, preview: bool
) -> None:
    server = await start_simulator(pace=1.0)  # real time, so the reply is still streaming
    server.scripted.queue_reply(
        "This is a long answer that keeps going for quite a while, so that there is plenty "
        "of time to interrupt it somewhere in the middle."
    )
    server.scripted.queue_reply("Yes?")
    conversation = await start_conversation(make_model(server, preview=preview), speaker_pace=1.0)
    try:
        conversation.session.generate_reply(user_input="tell me something long")
        await until(lambda: "speaking" in conversation.agent_states, what="agent speaking")
        await asyncio.sleep(0.8)  # let part of the reply be heard
        conversation.mic.feed(synthesize("Wait, stop please."))

        truncate = await server.received.wait_for(
            lambda e: e.type == "conversation.item.truncate", timeout=10
        )
        await until(lambda: conversation.speaker.segments, what="interrupted segment")
        heard_s, interrupted = conversation.speaker.segments[0]
        assert interrupted
        assert abs(truncate["audio_end_ms"] - heard_s * 1000) <= 15
        assert truncate["audio_end_ms"] >= 500  # we listened for 0.8 s before speaking

        # The server cut its reply when it heard the user (interrupt_response)...
        first_done = server.sent.of_type("response.done")[0]["response"]
        assert first_done["status"] == "cancelled"
        assert first_done["status_details"]["reason"] == "turn_detected"
        # ...and applied the client's truncation to the conversation.
        truncated = server.sent.of_type("conversation.item.truncated")[0]
        assert truncated["audio_end_ms"] == truncate["audio_end_ms"]
        item = server.sessions[0].item(truncate["item_id"])
        assert item is not None and item.truncated_at_ms == truncate["audio_end_ms"]
        assert item.audio is not None and len(item.audio) == truncate["audio_end_ms"] * 24

        assert await conversation.wait_for_reply(2) == "Yes?"
        assert conversation.messages[1].interrupted
    finally:
        await conversation.aclose()


async def test_manual_turn_commits_only_what_was_spoken(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    server.scripted.queue_transcript("push to talk")
    server.scripted.queue_reply("Got it.")
    conversation = await start_conversation(make_model(server), turn_detection="manual")
    session = conversation.session
    try:
        await until(
            lambda: (
                server.sessions
                and server.received.of_type("session.update")
                and server.sessions[0].config.turn_detection is None
            ),
            what="turn detection off on the server",
        )
        session.input.set_audio_enabled(False)
        # press
        session.interrupt()
        session.clear_user_turn()
        session.input.set_audio_enabled(True)
        utterance = synthesize("This is a push to talk turn.")
        conversation.mic.feed(utterance)
        await until(lambda: conversation.mic.idle, what="utterance delivered")
        # release
        session.input.set_audio_enabled(False)
        session.commit_user_turn()

        assert await conversation.wait_for_reply() == "Got it."
        assert conversation.said("user") == ["push to talk"]
        assert server.received.of_type("input_audio_buffer.commit")
        assert not server.sent.of_type("input_audio_buffer.speech_started")
        committed = server.sent.of_type("input_audio_buffer.committed")[0]
        item = server.sessions[0].item(committed["item_id"])
        assert item is not None and item.audio is not None
        # the utterance, plus at most a little silence around press and release
        assert len(utterance) <= len(item.audio) <= len(utterance) + 24_000 // 2
    finally:
        await conversation.aclose()


async def test_preview_manual_mode_leaves_server_vad_on(start_simulator: StartSimulator) -> None:
    """A plugin limit worth knowing: on the preview path the flat session.update drops
    ``turn_detection: null``, so the service keeps its default server VAD in push-to-talk."""
    server = await start_simulator()
    conversation = await start_conversation(
        make_model(server, preview=True), turn_detection="manual"
    )
    try:
        await until(lambda: len(server.sent.of_type("session.updated")) >= 3, what="updates")
        assert all(
            "turn_detection" not in e["session"] for e in server.received.of_type("session.update")
        )
        assert server.sessions[0].config.turn_detection is not None
    finally:
        await conversation.aclose()


async def test_text_only_session_replies_in_text(
    start_simulator: StartSimulator, preview: bool
) -> None:
    server = await start_simulator()
    server.scripted.queue_reply("Just text, no audio.")
    conversation = await start_conversation(
        make_model(server, preview=preview, modalities=["text"])
    )
    try:
        conversation.session.generate_reply(user_input="write something")
        assert await conversation.wait_for_reply() == "Just text, no audio."
        assert server.sessions[0].config.output_modalities == ("text",)
        wire = server.sent.types(skip_audio=False)
        text_delta = "response.text.delta" if preview else "response.output_text.delta"
        assert text_delta in wire
        assert not any("audio" in t and t.startswith("response.") for t in wire)
        assert len(conversation.speaker.heard) == 0
    finally:
        await conversation.aclose()


async def test_echo_responder_plays_the_utterance_back(start_simulator: StartSimulator) -> None:
    """The audio check: what the user said comes back, announced with its length."""
    server = await start_simulator(responder="echo")
    conversation = await start_conversation(make_model(server))
    try:
        utterance = synthesize("Testing my microphone, one two three.")
        conversation.mic.feed(utterance)
        reply = await conversation.wait_for_reply()
        seconds = server.sessions[0].items[0].speech_length
        assert reply == f"I heard {seconds:.1f} seconds of audio."
        assert abs(seconds - len(utterance) / 24_000) < 0.3
        assert conversation.said("user") == [f"({seconds:.1f} s of speech)"]

        recorded = server.sessions[0].items[0].audio
        assert recorded is not None
        await until(lambda: len(conversation.speaker.heard) >= len(recorded))
        heard = conversation.speaker.heard
        assert np.array_equal(heard[-len(recorded) :], recorded)  # played back sample for sample
    finally:
        await conversation.aclose()


async def test_demo_responder_answers_typed_and_spoken_input(
    start_simulator: StartSimulator,
) -> None:
    server = await start_simulator(responder="demo")
    conversation = await start_conversation(make_model(server))
    try:
        conversation.session.generate_reply(user_input="Hello!")
        assert "offline demo" in await conversation.wait_for_reply()
        conversation.mic.feed(synthesize("Can you understand me?"))
        assert "I heard you speak for" in await conversation.wait_for_reply(2)
    finally:
        await conversation.aclose()
