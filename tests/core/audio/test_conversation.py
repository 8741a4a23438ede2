"""End to end on real devices: speech into the virtual microphone -> our input -> a LiveKit
session -> the local realtime server's echo responder -> our output -> the virtual speaker.
And echo cancellation with the speaker looped back into the microphone: the server's VAD
must not hear the assistant's own voice when cancellation is on, and does when it is off."""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.voice.io import TextOutput
from livekit.plugins import openai as lk_openai
from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

from azassist.core.audio.facade import DeviceAudioIO, open_device_audio, synchronized_outputs
from azassist.core.settings import AudioSettings
from azassist.simulator import LocalRealtimeServer
from tests.core.audio.support import (
    RATE,
    MonitorRecorder,
    best_alignment,
    high_passed,
    read_wav,
    speak_into_microphone,
    until,
)

pytestmark = [pytest.mark.audio, pytest.mark.asyncio, pytest.mark.timeout(90)]

ECHO_ONLY = AudioSettings(echo_cancellation=True, noise_suppression=False, auto_gain=False)
NO_PROCESSING = AudioSettings(echo_cancellation=False, noise_suppression=False, auto_gain=False)


class TextCollector(TextOutput):
    """The transcription sink: what the user would read, as it arrives."""

    def __init__(self) -> None:
        super().__init__(label="collector", next_in_chain=None)
        self.current = ""
        self.segments: list[str] = []

    async def capture_text(self, text: str) -> None:
        self.current += text

    def flush(self) -> None:
        self.segments.append(self.current)
        self.current = ""


@dataclass
class Conversation:
    server: LocalRealtimeServer
    session: AgentSession
    audio: DeviceAudioIO
    text: TextCollector
    assistant_messages: list[llm.ChatMessage] = field(default_factory=list)

    def server_events(self, kind: str) -> list:
        return self.server.sent.of_type(kind)


@asynccontextmanager
async def conversation(settings: AudioSettings) -> AsyncIterator[Conversation]:
    async with LocalRealtimeServer(api_key="k", responder="echo", pace=2.0) as server:
        model = lk_openai.realtime.RealtimeModel.with_azure(
            azure_deployment="gpt-realtime", azure_endpoint=server.endpoint, api_key="k",
            # the app's defaults: pauses between words do not end the turn
            turn_detection=ServerVad(type="server_vad", threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500),
        )
        session: AgentSession = AgentSession(
            llm=model, vad=None, turn_handling={"turn_detection": "realtime_llm"},
            aec_warmup_duration=None, user_away_timeout=None,
        )
        audio = await open_device_audio(settings)
        text = TextCollector()
        session.input.audio = audio.input
        session.output.audio, session.output.transcription = synchronized_outputs(audio.output, text)
        talk = Conversation(server, session, audio, text)

        def on_item(event: object) -> None:
            item = getattr(event, "item", None)
            if isinstance(item, llm.ChatMessage) and item.role == "assistant":
                talk.assistant_messages.append(item)

        session.on("conversation_item_added", on_item)
        try:
            await session.start(Agent(instructions="Echo."))
            await server.wait_for_session()
            await until(lambda: len(server.received.of_type("input_audio_buffer.append")) > 2, 10, "microphone audio at the server")
            yield talk
        finally:
            await session.aclose()
            await model.aclose()
            await audio.aclose()


async def test_speech_goes_round_trip_through_the_echo_responder(
    virtual_audio: object, short_speech_wav: Path
) -> None:
    spoken = high_passed(read_wav(short_speech_wav))  # the filter that is always on
    async with conversation(NO_PROCESSING) as talk:
        recorder = MonitorRecorder()
        await until(lambda: len(recorder.samples()) > RATE // 10, 10, "the monitor recorder")
        await speak_into_microphone(short_speech_wav)
        await until(lambda: talk.assistant_messages != [], 30, "the echo reply to be played")
        heard = recorder.stop()

        assert len(talk.server_events("input_audio_buffer.speech_started")) == 1
        reply = talk.assistant_messages[0]
        assert not reply.interrupted
        assert "I heard" in (reply.text_content or "")
        assert "I heard" in "".join(talk.text.segments)  # paced text reached the text sink
        sent = b"".join(base64.b64decode(e["audio"]) for e in talk.server.received.of_type("input_audio_buffer.append"))
        _, score = best_alignment(np.frombuffer(sent, dtype="<i2").astype(np.int16), spoken)
        assert score > 0.95, "the server did not get what was said into the microphone"
        _, score = best_alignment(heard, spoken)
        assert score > 0.95, "the speaker did not play back what the microphone heard"
        stats = talk.audio.stats
        assert stats.segments_played >= 1 and stats.output_underruns == 0


@pytest.fixture
def speaker_loopback(virtual_audio: object) -> Iterator[None]:
    """What the virtual speaker plays comes back into the virtual microphone (like laptop
    speakers and microphone in one room, with no acoustic noise)."""
    module = subprocess.run(
        ["pactl", "load-module", "module-loopback", "source=spk.monitor", "sink=mic", "latency_msec=60"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    yield
    subprocess.run(["pactl", "unload-module", module], capture_output=True)


async def reply_and_count_speech_starts(settings: AudioSettings, speech_wav: Path) -> tuple[int, str]:
    """Speak once; return how often the server heard speech while its reply was playing, and
    how the reply ended (completed, or cancelled by that barge-in).

    "While playing" runs until the speaker has played the reply out, not until the server's
    ``response.done``: the server sends faster than real time, and speech heard during the
    played tail interrupts the assistant just the same (the client stops its playback)."""
    async with conversation(settings) as talk:
        await speak_into_microphone(speech_wav)
        await until(lambda: talk.server_events("response.done") != [], 30, "the reply to end")
        await until(lambda: talk.audio.output.idle, 30, "the reply to be played out")
        played_out = time.monotonic()  # the server stamps its events on this clock
        created = talk.server_events("response.created")[0].t
        done = talk.server_events("response.done")[0]
        starts_during_reply = [
            e for e in talk.server_events("input_audio_buffer.speech_started") if created < e.t <= played_out
        ]
        return len(starts_during_reply), str(done["response"]["status"])


async def test_echo_cancellation_keeps_the_assistant_from_hearing_itself(
    speaker_loopback: None, short_speech_wav: Path
) -> None:
    heard_itself, status = await reply_and_count_speech_starts(ECHO_ONLY, short_speech_wav)
    assert heard_itself == 0 and status == "completed"


async def test_without_echo_cancellation_the_assistant_hears_itself(
    speaker_loopback: None, short_speech_wav: Path
) -> None:
    """The control: the same loop with cancellation off barges in on the assistant's own
    voice, so the test above can fail."""
    heard_itself, status = await reply_and_count_speech_starts(NO_PROCESSING, short_speech_wav)
    assert heard_itself >= 1 and status == "cancelled"
