"""Protocol details over a bare WebSocket: session rules, errors, items, responses, VAD."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from azassist.simulator.speech import synthesize

from .conftest import StartSimulator
from .support import RawClient

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

GA_SESSION = {"type": "realtime"}


def ga_update(**session: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {**GA_SESSION, **session}}


def turn_detection_update(**turn_detection: Any) -> dict[str, Any]:
    """A GA session.update that sets only the turn detection (server_vad unless given)."""
    return ga_update(audio={"input": {"turn_detection": {"type": "server_vad", **turn_detection}}})


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 24_000), dtype=np.int16)


async def test_session_update_is_applied_and_reflected(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    async with RawClient.connect(server) as client:
        await client.send(
            ga_update(
                instructions="Be terse.",
                audio={
                    "input": {
                        "transcription": {"model": "whisper-1"},
                        "turn_detection": {
                            "type": "server_vad",
                            "threshold": 0.7,
                            "prefix_padding_ms": 100,
                            "silence_duration_ms": 500,
                        },
                    },
                    "output": {"voice": "marin", "speed": 1.2},
                },
            )
        )
        updated = (await client.next("session.updated"))["session"]
        assert updated["instructions"] == "Be terse."
        assert updated["audio"]["output"]["voice"] == "marin"
        assert updated["audio"]["output"]["speed"] == 1.2
        td = updated["audio"]["input"]["turn_detection"]
        assert (td["threshold"], td["prefix_padding_ms"], td["silence_duration_ms"]) == (
            0.7,
            100,
            500,
        )
        assert updated["audio"]["input"]["transcription"] == {"model": "whisper-1"}
        config = server.sessions[0].config
        assert config.voice == "marin" and config.turn_detection is not None
        assert config.turn_detection.silence_duration_ms == 500


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        ({"audio": {"output": {"voice": "robot"}}}, "invalid_value", "session.audio.output.voice"),
        (
            {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 1.5}}}},
            "decimal_above_max_value",
            "session.audio.input.turn_detection.threshold",
        ),
        (
            {
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": -1}}
                }
            },
            "integer_below_min_value",
            "session.audio.input.turn_detection.silence_duration_ms",
        ),
        ({"output_modalities": ["audio", "text"]}, "invalid_value", "session.output_modalities"),
        (
            {"audio": {"output": {"format": {"type": "audio/pcm", "rate": 16000}}}},
            "invalid_value",
            "session.audio.output.format.rate",
        ),
    ],
    ids=["voice", "threshold", "silence", "modalities", "rate"],
)
async def test_rejected_ga_updates_change_nothing(
    start_simulator: StartSimulator, session: dict[str, Any], code: str, param: str
) -> None:
    # a 16 kHz rate is invalid for the official models too; the others are schema-valid
    server = await start_simulator(allow_invalid_client_events=param.endswith(".rate"))
    async with RawClient.connect(server) as client:
        event_id = await client.send(ga_update(**session))
        error = (await client.next("error"))["error"]
        assert (error["code"], error["param"], error["event_id"]) == (code, param, event_id)
        assert "session.updated" not in client.types()
        assert server.sessions[0].config.voice == "alloy"


async def test_temperature_is_unknown_on_ga(start_simulator: StartSimulator) -> None:
    server = await start_simulator(allow_invalid_client_events=True)
    async with RawClient.connect(server) as client:
        await client.send(ga_update(temperature=0.8))
        error = (await client.next("error"))["error"]
        assert (error["code"], error["param"]) == ("unknown_parameter", "session.temperature")
    # the strict validator saw the same thing in the client's event
    (violation,) = server.violations
    assert violation.direction == "received" and "temperature" in violation.problem


@pytest.mark.parametrize(
    ("temperature", "code"),
    [
        (0.9, None),
        (0.6, None),
        (1.2, None),
        (0.5, "decimal_below_min_value"),
        (1.3, "decimal_above_max_value"),
    ],
)
async def test_preview_temperature_range(
    start_simulator: StartSimulator, temperature: float, code: str | None
) -> None:
    server = await start_simulator()
    async with RawClient.connect(server, preview=True) as client:
        await client.send({"type": "session.update", "session": {"temperature": temperature}})
        if code is None:
            assert (await client.next("session.updated"))["session"]["temperature"] == temperature
        else:
            error = (await client.next("error"))["error"]
            assert (error["code"], error["param"]) == (code, "session.temperature")


async def test_voice_is_fixed_once_assistant_audio_exists(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    async with RawClient.connect(server) as client:
        await client.send(ga_update(audio={"output": {"voice": "cedar"}}))  # before audio: fine
        await client.next("session.updated")
        await client.send({"type": "response.create"})
        await client.next("response.done")
        await client.send(ga_update(audio={"output": {"voice": "cedar"}}))  # unchanged: fine
        await client.next("session.updated")
        await client.send(ga_update(audio={"output": {"voice": "marin"}}))
        error = (await client.next("error"))["error"]
        assert error["code"] == "cannot_update_voice"
        assert server.sessions[0].config.voice == "cedar"


async def test_response_rules(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    server.faults.stall_next_response()
    async with RawClient.connect(server) as client:
        cancel_id = await client.send({"type": "response.cancel"})
        error = (await client.next("error"))["error"]
        assert error["message"].startswith("Cancellation failed")
        assert error["event_id"] == cancel_id

        await client.send({"type": "response.create", "response": {"metadata": {"k": "v"}}})
        created = (await client.next("response.created"))["response"]
        assert created["metadata"] == {"k": "v"} and created["status"] == "in_progress"
        await client.send({"type": "response.create"})
        error = (await client.next("error"))["error"]
        assert error["code"] == "conversation_already_has_active_response"

        await client.send({"type": "response.cancel", "response_id": created["id"]})
        done = (await client.next("response.done"))["response"]
        assert done["id"] == created["id"] and done["status"] == "cancelled"
        assert done["usage"]["total_tokens"] >= 0


async def test_out_of_band_response_leaves_the_conversation_alone(
    start_simulator: StartSimulator,
) -> None:
    server = await start_simulator()
    server.scripted.queue_reply("A side note.")
    async with RawClient.connect(server) as client:
        await client.send(
            {
                "type": "response.create",
                "response": {"conversation": "none", "output_modalities": ["text"]},
            }
        )
        done = (await client.next("response.done"))["response"]
        assert done["conversation_id"] is None
        assert done["output"][0]["content"][0] == {"type": "output_text", "text": "A side note."}
        assert "conversation.item.added" not in client.types()
        assert server.sessions[0].items == []


async def test_items_create_delete_truncate_retrieve(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    server.scripted.queue_reply("One two three four five six.")
    async with RawClient.connect(server) as client:
        first = {
            "id": "item_first",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "first"}],
        }
        zeroth = {
            "id": "item_zeroth",
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "zeroth"}],
        }
        await client.send({"type": "conversation.item.create", "item": first})
        added = await client.next("conversation.item.added")
        assert added["item"]["id"] == "item_first" and added["previous_item_id"] is None
        await client.send(
            {"type": "conversation.item.create", "previous_item_id": "root", "item": zeroth}
        )
        await client.next("conversation.item.added")
        assert [i.id for i in server.sessions[0].items] == ["item_zeroth", "item_first"]

        duplicate_id = await client.send({"type": "conversation.item.create", "item": first})
        error = (await client.next("error"))["error"]
        assert (error["code"], error["event_id"]) == ("item_create_duplicate_item_id", duplicate_id)

        await client.send({"type": "response.create"})
        done = (await client.next("response.done"))["response"]
        reply_id = done["output"][0]["id"]
        reply_ms = int(server.sessions[0].item(reply_id).audio_seconds * 1000)

        too_far = await client.send(
            {
                "type": "conversation.item.truncate",
                "item_id": reply_id,
                "content_index": 0,
                "audio_end_ms": reply_ms + 500,
            }
        )
        error = (await client.next("error"))["error"]
        assert error["event_id"] == too_far and "shorter than" in error["message"]

        await client.send(
            {
                "type": "conversation.item.truncate",
                "item_id": reply_id,
                "content_index": 0,
                "audio_end_ms": 300,
            }
        )
        truncated = await client.next("conversation.item.truncated")
        assert truncated["audio_end_ms"] == 300
        await client.send({"type": "conversation.item.retrieve", "item_id": reply_id})
        retrieved = (await client.next("conversation.item.retrieved"))["item"]
        assert retrieved["content"][0]["transcript"] == ""  # the unheard transcript is gone
        assert len(retrieved["content"][0]["audio"]) > 0

        await client.send({"type": "conversation.item.delete", "item_id": "item_first"})
        assert (await client.next("conversation.item.deleted"))["item_id"] == "item_first"
        await client.send({"type": "conversation.item.delete", "item_id": "item_first"})
        assert (await client.next("error"))["error"]["code"] == "item_not_found"


async def test_manual_commit_and_clear(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    async with RawClient.connect(server) as client:
        await client.send(ga_update(audio={"input": {"turn_detection": None}}))
        await client.next("session.updated")
        await client.send_audio(silence(0.05))
        await client.send({"type": "input_audio_buffer.commit"})
        error = (await client.next("error"))["error"]
        assert error["code"] == "input_audio_buffer_commit_empty"

        await client.send_audio(silence(0.5))
        await client.send({"type": "input_audio_buffer.clear"})
        await client.next("input_audio_buffer.cleared")
        utterance = synthesize("Manual turn.")
        await client.send_audio(utterance)
        await client.send({"type": "input_audio_buffer.commit"})
        committed = await client.next("input_audio_buffer.committed")
        item = server.sessions[0].item(committed["item_id"])
        assert item is not None and item.audio is not None
        assert np.array_equal(item.audio, utterance)  # exactly what was appended after clear
        assert "response.created" not in client.types()  # manual turns never answer by themselves
        assert "input_audio_buffer.speech_started" not in client.types()


def scaled(samples: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(samples.astype(np.float64) * gain, -32768, 32767).astype(np.int16)


@pytest.mark.parametrize(
    ("threshold", "gain", "fires"),
    [(0.5, 1.0, True), (0.5, 0.1, True), (0.9, 0.1, False), (0.9, 1.0, True)],
    ids=["default-normal", "default-quiet", "strict-quiet", "strict-normal"],
)
async def test_vad_threshold_follows_the_session(
    start_simulator: StartSimulator, threshold: float, gain: float, fires: bool
) -> None:
    """Quiet speech (20 dB down, about -40 dBFS) passes the default threshold (-45 dBFS) but
    not a strict 0.9 (-25 dBFS); normal speech passes both."""
    server = await start_simulator()
    async with RawClient.connect(server) as client:
        await client.send(turn_detection_update(threshold=threshold, create_response=False))
        await client.next("session.updated")
        await client.send_audio(
            np.concatenate(
                [silence(0.5), scaled(synthesize("Hello there, how are you?"), gain), silence(1.0)]
            )
        )
        await client.send({"type": "input_audio_buffer.clear"})  # a fence: all audio was judged
        await client.next("input_audio_buffer.cleared")
        assert ("input_audio_buffer.speech_started" in client.types()) is fires
        assert "response.created" not in client.types()  # create_response: false


@pytest.mark.parametrize(
    "noise",
    [silence(3.0), (np.random.default_rng(7).normal(0, 55, 72_000)).astype(np.int16)],
    ids=["digital-silence", "noise-55dBFS"],
)
async def test_vad_ignores_silence_and_low_noise(
    start_simulator: StartSimulator, noise: np.ndarray
) -> None:
    server = await start_simulator()
    async with RawClient.connect(server) as client:
        await client.send_audio(noise)
        await client.send({"type": "input_audio_buffer.clear"})
        await client.next("input_audio_buffer.cleared")
        assert "input_audio_buffer.speech_started" not in client.types()


async def test_vad_silence_duration_and_prefix_padding(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    async with RawClient.connect(server) as client:
        await client.send(
            turn_detection_update(
                prefix_padding_ms=500, silence_duration_ms=700, create_response=False
            )
        )
        await client.next("session.updated")
        speech = synthesize("One. Two.")  # a short pause between the words: not a turn end
        await client.send_audio(np.concatenate([silence(1.0), speech, silence(1.5)]))
        started = await client.next("input_audio_buffer.speech_started")
        stopped = await client.next("input_audio_buffer.speech_stopped")
        committed = await client.next("input_audio_buffer.committed")
        assert client.types().count("input_audio_buffer.speech_started") == 1
        assert 1000 <= started["audio_start_ms"] <= 1100
        speech_end_ms = 1000 + len(speech) * 1000 // 24_000
        assert speech_end_ms <= stopped["audio_end_ms"] <= speech_end_ms + 700 + 20
        item = server.sessions[0].item(committed["item_id"])
        assert item is not None and item.audio is not None
        committed_ms = len(item.audio) * 1000 // 24_000
        assert committed_ms == pytest.approx(
            stopped["audio_end_ms"] - started["audio_start_ms"] + 500, abs=20
        )


async def test_semantic_vad_is_accepted_and_detects_turns(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    server.scripted.queue_reply("Semantic enough.")
    async with RawClient.connect(server) as client:
        await client.send(turn_detection_update(type="semantic_vad", eagerness="high"))
        updated = await client.next("session.updated")
        assert updated["session"]["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"
        await client.send_audio(
            np.concatenate([silence(0.3), synthesize("Is this a turn?"), silence(0.6)])
        )
        await client.next("input_audio_buffer.speech_stopped")
        done = (await client.next("response.done"))["response"]
        assert done["output"][0]["content"][0]["transcript"] == "Semantic enough."


async def test_transcription_only_when_configured(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    async with RawClient.connect(server) as client:
        # the service's default session has no input transcription
        await client.send_audio(
            np.concatenate([silence(0.3), synthesize("No transcript."), silence(0.5)])
        )
        await client.next("response.done")
        assert "conversation.item.input_audio_transcription.completed" not in client.types()
        await client.send(ga_update(audio={"input": {"transcription": {"model": "whisper-1"}}}))
        await client.next("session.updated")
        server.scripted.queue_transcript("now with words")
        await client.send_audio(np.concatenate([synthesize("Transcript please."), silence(0.5)]))
        completed = await client.next("conversation.item.input_audio_transcription.completed")
        assert completed["transcript"] == "now with words"
        assert completed["usage"]["type"] == "duration"


async def test_unknown_client_event_gets_an_error(start_simulator: StartSimulator) -> None:
    server = await start_simulator(allow_invalid_client_events=True)
    async with RawClient.connect(server) as client:
        event_id = await client.send({"type": "response.explode"})
        error = (await client.next("error"))["error"]
        assert (error["code"], error["param"], error["event_id"]) == (
            "invalid_value",
            "type",
            event_id,
        )
        await client.ws.send_str("{not json")
        assert (await client.next("error"))["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("interrupt", [True, False])
async def test_interrupt_response_decides_whether_speech_cancels(
    start_simulator: StartSimulator, interrupt: bool
) -> None:
    server = await start_simulator()
    server.faults.stall_next_response()
    async with RawClient.connect(server) as client:
        await client.send(turn_detection_update(interrupt_response=interrupt))
        await client.next("session.updated")
        await client.send({"type": "response.create"})
        await client.next("response.created")
        await client.send_audio(np.concatenate([silence(0.3), synthesize("Excuse me.")]))
        await client.next("input_audio_buffer.speech_started")
        await client.send({"type": "input_audio_buffer.clear"})  # a fence
        await client.next("input_audio_buffer.cleared")
        if interrupt:
            (done,) = [e["response"] for e in client.seen if e["type"] == "response.done"]
            assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
        else:
            assert "response.done" not in client.types()
            assert server.sessions[0].active_response is not None


async def test_scripted_audio_is_sent_as_given(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    tone = (np.sin(np.arange(12_000) * 2 * np.pi * 440 / 24_000) * 8000).astype(np.int16)
    server.scripted.queue_reply("(a tone)", audio=tone)
    async with RawClient.connect(server) as client:
        await client.send({"type": "response.create"})
        done = (await client.next("response.done"))["response"]
        deltas = [e for e in client.seen if e["type"] == "response.output_audio.delta"]
        sent = np.concatenate(
            [np.frombuffer(base64.b64decode(d["delta"]), dtype="<i2") for d in deltas]
        )
        assert np.array_equal(sent, tone)
        assert done["output"][0]["content"][0]["transcript"] == "(a tone)"


@pytest.mark.parametrize("pace", [1.0, 4.0])
async def test_reply_audio_is_paced(start_simulator: StartSimulator, pace: float) -> None:
    """At pace p, reply audio is spread over about (length - 200 ms lead) / p: real time at 1,
    four times faster at 4. Asserted as a loose lower bound (0.5 s of the 0.7 s, scaled), far
    from the boundary, so scheduling jitter cannot flake it while unpaced audio (~0 s) fails."""
    server = await start_simulator(pace=pace)
    one_second = np.zeros(24_000, dtype=np.int16) + 100
    server.scripted.queue_reply("(a second)", audio=one_second)
    async with RawClient.connect(server) as client:
        await client.send({"type": "response.create"})
        await client.next("response.done")
    deltas = server.sent.of_type("response.output_audio.delta")
    assert len(deltas) == 10  # 100 ms each
    assert deltas[-1].t - deltas[0].t >= 0.5 / pace
