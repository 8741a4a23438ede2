"""The speaker seam on a real PortAudio stream: what reaches the virtual speaker, and the
LiveKit playback contract (started when heard, exactly one finished per segment)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest
from livekit.agents.voice.io import PlaybackFinishedEvent

from azassist.core.audio.facade import DeviceAudioIO
from azassist.core.audio.memory import int16_frame
from azassist.core.audio.speaker import DeviceBuffer, SpeakerOutput
from tests.core.audio.support import RATE, MonitorRecorder, active_span, best_alignment, device_glitches, until

pytestmark = [pytest.mark.audio, pytest.mark.asyncio, pytest.mark.timeout(60)]


class Recorder:
    """Collects a speaker's playback events in order."""

    def __init__(self, output: SpeakerOutput) -> None:
        self.log: list[tuple[str, object]] = []
        output.on("playback_started", lambda ev: self.log.append(("started", ev)))
        output.on("playback_finished", lambda ev: self.log.append(("finished", ev)))

    @property
    def finished(self) -> list[PlaybackFinishedEvent]:
        return [ev for kind, ev in self.log if kind == "finished"]  # type: ignore[misc]

    @property
    def started(self) -> int:
        return sum(kind == "started" for kind, _ in self.log)


async def capture(output: SpeakerOutput, samples: np.ndarray, chunk: int = 2400) -> None:
    """Hand samples over the way the session does: faster than real time, in chunks."""
    for start in range(0, len(samples), chunk):
        await output.capture_frame(int16_frame(samples[start : start + chunk]))


async def start_recorder() -> MonitorRecorder:
    recorder = MonitorRecorder()
    await until(lambda: len(recorder.samples()) > RATE // 10, 10, "the monitor recorder")
    return recorder


async def play_whole(
    speaker: SpeakerOutput, samples: np.ndarray
) -> tuple[Recorder, PlaybackFinishedEvent, np.ndarray]:
    """One segment played to its end: its events, its finished report and what was heard."""
    events = Recorder(speaker)
    recorder = await start_recorder()
    await capture(speaker, samples)
    speaker.flush()
    finished = await asyncio.wait_for(speaker.wait_for_playout(), 20)
    await asyncio.sleep(0.2)
    return events, finished, recorder.stop()


async def test_segment_plays_on_the_device_and_reports_once(device_audio: DeviceAudioIO, speech: np.ndarray) -> None:
    speaker = device_audio.output
    events, finished, heard = await play_whole(speaker, speech)

    assert [kind for kind, _ in events.log] == ["started", "finished"]
    assert not finished.interrupted
    assert finished.playback_position == pytest.approx(len(speech) / RATE, abs=1e-6)
    offset, score = best_alignment(heard, speech)
    assert score > 0.99, f"the virtual speaker did not play the segment as given: {device_audio.stats}"
    _start, end = active_span(heard)
    assert end - offset <= len(speech) + 240  # nothing extra played after the segment


async def test_clear_buffer_stops_playback_where_it_says(device_audio: DeviceAudioIO, speech: np.ndarray) -> None:
    """Barge-in: the reported position is what the virtual speaker really played, and the
    sound stops there (measured on the captured signal, not with a timer)."""
    speaker = device_audio.output
    events = Recorder(speaker)
    recorder = await start_recorder()
    await capture(speaker, speech)
    speaker.flush()
    await until(lambda: events.started == 1, 10, "playback to start")
    # let about a second reach the device, counted in samples the device consumed
    await until(lambda: speaker.samples_played > RATE, 10, "a second of playback")
    speaker.clear_buffer()
    finished = await asyncio.wait_for(speaker.wait_for_playout(), 5)
    await asyncio.sleep(0.3)
    heard = recorder.stop()

    assert finished.interrupted
    assert len(events.finished) == 1
    offset, score = best_alignment(heard, speech[: RATE // 2])
    assert score > 0.99
    reported = int(round(finished.playback_position * RATE))
    assert RATE <= reported < len(speech) - RATE // 2  # cut mid-way, after what we waited for
    cut = offset + reported
    # everything up to the reported position was heard as given ...
    _, score_heard = best_alignment(heard[offset:cut], speech[:reported])
    assert score_heard > 0.99
    # ... and within two 10 ms frames after it the speaker was silent
    assert np.abs(heard[cut + 2 * 240 :].astype(np.int32)).max(initial=0) < 64


async def test_every_segment_gets_exactly_one_finished(device_audio: DeviceAudioIO, speech: np.ndarray) -> None:
    """No hang: played, cleared mid-way, cleared before it started, empty, cleared while
    still capturing (late frames of that segment are dropped), and pending at close."""
    speaker = device_audio.output
    events = Recorder(speaker)
    short = speech[: RATE // 5]

    await capture(speaker, short)  # 1: plays out
    speaker.flush()
    await asyncio.wait_for(speaker.wait_for_playout(), 10)

    await capture(speaker, speech)  # 2: cleared mid-way
    speaker.flush()
    await until(lambda: events.started == 2, 10, "the second segment to start")
    speaker.clear_buffer()
    await asyncio.wait_for(speaker.wait_for_playout(), 5)

    speaker.pause()  # 3: cleared before a sample reached the device
    await capture(speaker, short)
    speaker.flush()
    speaker.clear_buffer()
    speaker.resume()
    await asyncio.wait_for(speaker.wait_for_playout(), 5)

    speaker.flush()  # 4: a flush with nothing captured is not a segment

    speaker.pause()  # 5: cleared while the session was still capturing
    await capture(speaker, short)
    speaker.clear_buffer()
    await capture(speaker, short)  # late frames of the same segment: dropped
    speaker.flush()
    speaker.resume()
    await asyncio.wait_for(speaker.wait_for_playout(), 5)

    await capture(speaker, short)  # 6: the next segment plays normally again
    speaker.flush()
    await asyncio.wait_for(speaker.wait_for_playout(), 10)

    finished = events.finished
    assert [ev.interrupted for ev in finished] == [False, True, True, True, False]
    assert finished[0].playback_position == pytest.approx(len(short) / RATE)
    assert 0 < finished[1].playback_position < len(speech) / RATE
    assert finished[2].playback_position == finished[3].playback_position == 0.0
    assert events.started == 3  # segments 3 and 5 never reached the device
    assert speaker.captured_playout_segments == 5
    assert speaker.idle

    await capture(speaker, speech)  # 7: still playing when the output closes
    speaker.flush()
    await until(lambda: events.started == 4, 10, "the last segment to start")
    speaker.close()
    assert len(events.finished) == 6 and events.finished[-1].interrupted
    await asyncio.wait_for(speaker.wait_for_playout(), 1)


async def test_pause_holds_playback_and_resume_continues(device_audio: DeviceAudioIO, speech: np.ndarray) -> None:
    speech = speech[: int(1.5 * RATE)]
    speaker = device_audio.output
    for attempt in (1, 2):
        glitches = device_glitches(device_audio)
        recorder = await start_recorder()
        await capture(speaker, speech)
        speaker.flush()
        await until(lambda: speaker.samples_played > RATE // 2, 10, "half a second of playback")
        speaker.pause()
        held = speaker.samples_played
        await asyncio.sleep(0.3)
        assert speaker.samples_played == held
        speaker.resume()
        finished = await asyncio.wait_for(speaker.wait_for_playout(), 20)
        await asyncio.sleep(0.2)
        heard = recorder.stop()
        assert not finished.interrupted
        assert finished.playback_position == pytest.approx(len(speech) / RATE)
        if device_glitches(device_audio) == glitches:
            break
        print(f"attempt {attempt}: the sound server glitched during playback; playing again")
    else:
        pytest.fail("the sound server glitched in both attempts: the recording cannot be compared")
    # both halves were played, in order, with silence between them
    first, score_first = best_alignment(heard, speech[:held])
    second, score_second = best_alignment(heard, speech[held:])
    assert score_first > 0.99 and score_second > 0.99
    assert second - first > held  # the pause left a gap


async def test_output_levels_follow_playback(device_audio: DeviceAudioIO, speech: np.ndarray) -> None:
    readings: list[Any] = []
    unsubscribe = device_audio.subscribe_levels(readings.append)
    await until(lambda: len(readings) >= 3, 5, "level readings")
    before = len(readings)
    await capture(device_audio.output, speech[:RATE])
    device_audio.output.flush()
    await asyncio.wait_for(device_audio.output.wait_for_playout(), 10)
    during = len(readings)
    await until(lambda: len(readings) >= during + 3, 5, "level readings")
    unsubscribe()
    assert all(r.output_rms == float("-inf") for r in readings[:before])  # digital silence
    loud = [r for r in readings[before:during] if r.output_peak > -30]
    assert loud, "no output level rose while speech played"
    assert all(r.output_rms <= r.output_peak <= 0 for r in loud)
    assert readings[-1].output_rms == float("-inf")


# --- device buffer: as small as the machine keeps fed ----------------------------------------

async def test_device_buffer_grows_per_underflow_and_shrinks_after_clean_replies() -> None:
    buffer = DeviceBuffer(steps=("low", 0.04, 0.08), patience=3)
    assert buffer.latency == "low"
    assert buffer.on_underflow() and buffer.latency == 0.04
    assert buffer.on_underflow() and buffer.latency == 0.08
    assert not buffer.on_underflow() and buffer.latency == 0.08  # the largest step stays
    assert not buffer.on_clean_segment() and not buffer.on_clean_segment()
    assert buffer.on_clean_segment() and buffer.latency == 0.04  # patience used up: one step down
    buffer.on_clean_segment()
    assert buffer.on_underflow() and buffer.latency == 0.08  # an underflow resets the count
    assert not buffer.on_clean_segment() and not buffer.on_clean_segment()
    assert buffer.on_clean_segment() and buffer.latency == 0.04


async def test_a_starved_reply_grows_the_device_buffer_between_replies(
    device_audio: DeviceAudioIO, speech: np.ndarray
) -> None:
    """A real underflow (the callback held up past the device buffer mid-reply) grows the
    buffer one step; the stream is reopened only after the reply, and the next reply plays
    whole on the reopened stream."""
    speaker = device_audio.output
    assert speaker.device_buffer.latency == "low" and speaker.stream.latency == "low"
    processor = speaker._processor
    real_render = processor.process_render
    stalled = False

    def stall_once_mid_reply(samples: np.ndarray, rate: int, dac: float, *, silent: bool = False) -> None:
        nonlocal stalled
        if not stalled and speaker.samples_played > RATE // 2:
            stalled = True
            time.sleep(0.25)  # far longer than the device buffer: PortAudio must run dry
        real_render(samples, rate, dac, silent=silent)

    processor.process_render = stall_once_mid_reply  # type: ignore[assignment]
    try:
        await capture(speaker, speech)
        speaker.flush()
        await until(lambda: speaker.audible_underflows > 0, 10, "PortAudio to report the underflow")
        assert speaker.device_reopens == 0  # never mid-reply
        first = await asyncio.wait_for(speaker.wait_for_playout(), 20)
    finally:
        processor.process_render = real_render  # type: ignore[method-assign]
    assert not first.interrupted
    await until(lambda: speaker.device_reopens == 1, 5, "the stream to reopen after the reply")
    assert speaker.stream.latency == speaker.device_buffer.latency == 0.04
    assert speaker.stream.is_open

    events, second, heard = await play_whole(speaker, speech)
    assert [kind for kind, _ in events.log] == ["started", "finished"] and not second.interrupted
    _, score = best_alignment(heard, speech)
    assert score > 0.99, f"the reopened speaker did not play the reply as given: {device_audio.stats}"
