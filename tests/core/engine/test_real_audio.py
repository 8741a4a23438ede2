"""The engine on the real audio path: sounddevice streams on the virtual PulseAudio devices.

A WAV is spoken into the virtual microphone with ``paplay``; what the app plays is recorded
from the virtual speaker's monitor with ``parec``. The engine gets the audio layer's
``DeviceAudioIO`` exactly as the window does (``open_device_audio`` as the audio factory).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from azassist.core.audio.facade import open_device_audio
from azassist.core.audio.memory import FRAME_SAMPLES
from azassist.core.engine import Engine, MemoryKeySource
from azassist.core.engine.engine import QUIET_APPENDS_PER_WAKE
from azassist.core.engine.realtime_model import APPEND_SAMPLES
from azassist.core.events import Activity, AssistantText, ConnectionState, EngineEvent, Levels, UserTranscript
from azassist.core.secrets import Secret
from azassist.core.settings import Settings
from azassist.simulator import LocalRealtimeServer
from tests.core.audio.support import MonitorRecorder, make_speech, play_into_microphone

from .conftest import API_KEY, DEPLOYMENT, settings_for, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90), pytest.mark.audio]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_speech(tmp_path_factory.mktemp("speech"), "please switch on the kitchen lights", "lights")


@asynccontextmanager
async def device_engine(pace: float, **groups: dict[str, Any]) -> AsyncIterator[tuple[Engine, LocalRealtimeServer, list[EngineEvent]]]:
    async with LocalRealtimeServer(
        api_key=API_KEY, deployments=(DEPLOYMENT, "whisper"), responder="scripted", pace=pace
    ) as server:
        groups["turn_detection"] = {"silence_duration_ms": 500, **groups.get("turn_detection", {})}
        settings: Settings = settings_for(server, **groups)
        engine = Engine(settings, keys=MemoryKeySource(Secret(API_KEY)))
        engine.audio_factory = lambda s: open_device_audio(s.audio, on_event=engine.report)
        events: list[EngineEvent] = []
        engine.subscribe(events.append)
        try:
            await engine.connect()
            await until(lambda: engine.connection is ConnectionState.CONNECTED, 15, "connected")
            if engine.hands_free:  # the microphone streams to the server before anyone speaks
                await until(lambda: len(server.received.of_type("input_audio_buffer.append")) > 3, 10, "microphone audio")
            yield engine, server, events
        finally:
            await engine.aclose()


async def _speak(path: Path) -> None:
    player = play_into_microphone(path)
    while player.poll() is None:
        await asyncio.sleep(0.02)


def _finals(events: list[EngineEvent], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind) and e.final]


async def test_hands_free_turn_through_microphone_and_speaker(virtual_audio: object, spoken: Path) -> None:
    async with device_engine(pace=2) as (engine, server, events):
        server.scripted.queue_transcript("switch on the kitchen lights")
        server.scripted.queue_reply("The kitchen lights are on.")
        recorder = MonitorRecorder()
        await until(lambda: len(recorder.samples()) > 2400, 10, "the monitor recorder")
        await _speak(spoken)
        await until(lambda: _finals(events, AssistantText), 30, "the reply")
        await until(lambda: engine.activity is Activity.LISTENING, 15, "playback to finish")
        heard = recorder.stop()

        assert [u.text for u in _finals(events, UserTranscript)] == ["switch on the kitchen lights"]
        assert _finals(events, AssistantText)[0].text == "The kitchen lights are on."
        # The reply really came out of the speaker...
        assert np.abs(heard).max() > 3000
        # ...and the meters saw the spoken words at the microphone.
        levels = [e for e in events if isinstance(e, Levels)]
        assert levels and max(e.input_peak for e in levels) > -30
        assert max(e.output_peak for e in levels) > -30
        assert len(server.sent.of_type("input_audio_buffer.speech_started")) == 1


async def test_hands_free_batches_line_up_with_the_plugins_appends(virtual_audio: object) -> None:
    """The microphone hands the session whole appends (``APPEND_SAMPLES``, 20 ms), so the
    plugin never holds a partial one: no chunk waits for the next batch. Reads the plugin's
    private buffer on purpose: it guards the assumption the batching is built on (our append
    length, cut from the start)."""
    async with device_engine(pace=2) as (engine, server, _events):
        live = engine._live
        assert live is not None
        stream = live.agent.realtime_llm_session._bstream
        appends = len(server.received.of_type("input_audio_buffer.append"))
        for _ in range(25):
            assert len(stream._buf) == 0
            await asyncio.sleep(0.013)
        sent = server.received.of_type("input_audio_buffer.append")
        assert len(sent) > appends + 1
        assert {len(base64.b64decode(str(e.event["audio"]))) for e in sent if e.event} == {APPEND_SAMPLES * 2}
        stats = live.audio.stats
        quiet_batch = APPEND_SAMPLES * QUIET_APPENDS_PER_WAKE  # nobody talks here
        assert live.audio.input.batch_samples == quiet_batch
        assert stats.input_wakeups <= stats.frames_delivered // (quiet_batch // FRAME_SAMPLES) + 2


async def test_hands_free_sends_each_append_at_once_while_someone_talks(virtual_audio: object, spoken: Path) -> None:
    """The user talking (the end of the sentence is what the server's VAD waits for) and the
    assistant talking (a barge-in) get one wake-up per append; the quiet room, batches."""
    quiet_batch = APPEND_SAMPLES * QUIET_APPENDS_PER_WAKE
    async with device_engine(pace=1) as (engine, server, _events):
        live = engine._live
        assert live is not None
        microphone = live.audio.input
        server.scripted.queue_transcript("switch on the kitchen lights")
        server.scripted.queue_reply("The kitchen lights are on, and the hall lights too, as you asked.")
        assert microphone.batch_samples == quiet_batch
        batches: set[tuple[str, int]] = set()

        def reply_playing() -> bool:
            batches.add((engine._user_state, microphone.batch_samples))
            return engine._agent_state == "speaking"

        player = play_into_microphone(spoken)
        try:
            await until(reply_playing, 30, "the reply on the speaker", poll=0.01)
        finally:
            player.wait(timeout=10)
        assert ("speaking", APPEND_SAMPLES) in batches  # the user's turn
        assert ("speaking", quiet_batch) not in batches
        assert microphone.batch_samples == APPEND_SAMPLES
        await until(lambda: engine.activity is Activity.LISTENING, 30, "playback to finish")
        assert microphone.batch_samples == quiet_batch


async def test_barge_in_on_real_devices_stops_the_speaker(virtual_audio: object, spoken: Path) -> None:
    long_reply = "I will now read a very long list of things, one after another, for a long time. " * 3
    async with device_engine(pace=1) as (engine, server, events):
        server.scripted.queue_reply(long_reply)
        server.scripted.queue_transcript("stop")
        server.scripted.queue_reply("Stopped.")
        engine.send_text("read me the list")
        await until(
            lambda: any(isinstance(e, AssistantText) and not e.final and len(e.text) > 20 for e in events),
            20, "the assistant to be heard",
        )
        await _speak(spoken)
        await until(lambda: len(_finals(events, AssistantText)) >= 2, 30, "the interruption and the answer")
        finals = _finals(events, AssistantText)
        first, second = finals[:2]
        assert second.text == "Stopped.", [(f.turn_id, f.text, f.interrupted) for f in finals]
        assert first.interrupted and len(first.text) < len(long_reply)
        assert second.text == "Stopped."
        assert server.received.of_type("conversation.item.truncate")


async def test_push_to_talk_on_the_real_microphone(virtual_audio: object, spoken: Path) -> None:
    async with device_engine(pace=2, turn_detection={"mode": "manual"}) as (engine, server, events):
        server.scripted.queue_transcript("pressed and spoken")
        server.scripted.queue_reply("Got it.")
        engine.push_to_talk_press()
        await _speak(spoken)
        await asyncio.sleep(0.3)  # the tail of the words travels through the device buffers
        engine.push_to_talk_release()
        await until(lambda: _finals(events, AssistantText), 30, "the reply")
        assert len(server.received.of_type("input_audio_buffer.commit")) == 1
        assert [u.text for u in _finals(events, UserTranscript)] == ["pressed and spoken"]
