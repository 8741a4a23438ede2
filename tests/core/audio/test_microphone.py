"""The microphone seam on a real PortAudio stream: speech played into the virtual microphone
arrives in whole 10 ms frames (one frame per PortAudio block), also through the resampling
path, or batched into the plugin's 100 ms appends; nothing arrives while detached or muted;
the loop is woken at most once per block (once per batch when batching)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from azassist.core.audio.facade import DeviceAudioIO
from azassist.core.audio.files import write_wav
from azassist.core.audio.microphone import MicrophoneInput
from azassist.core.audio.processing import ProcessingOptions
from azassist.core.settings import AudioSettings
from tests.core.audio.support import RATE, best_alignment, high_passed, speak_into_microphone, until

pytestmark = [pytest.mark.audio, pytest.mark.asyncio, pytest.mark.timeout(60)]


class FrameCollector:
    """Reads the input like the session does, keeping every frame."""

    def __init__(self, microphone: MicrophoneInput) -> None:
        self.frames: list[np.ndarray] = []
        self.sizes: set[tuple[int, int]] = set()
        self._task = asyncio.create_task(self._run(microphone))

    async def running(self) -> None:
        """Wait until the stream really delivers (a sound server may take a moment)."""
        await until(lambda: len(self.frames) > 10, 10, "microphone frames")

    async def _run(self, microphone: MicrophoneInput) -> None:
        async for frame in microphone:
            self.sizes.add((frame.sample_rate, frame.samples_per_channel))
            self.frames.append(np.frombuffer(frame.data, dtype=np.int16).copy())

    @property
    def samples(self) -> np.ndarray:
        return np.concatenate(self.frames) if self.frames else np.zeros(0, np.int16)

    async def stop(self) -> np.ndarray:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        return self.samples


async def speak(path: Path) -> None:
    await speak_into_microphone(path)
    await asyncio.sleep(0.2)  # the last blocks are still on their way


def whole_10ms_frames(sizes: set[tuple[int, int]]) -> bool:
    return bool(sizes) and all(rate == RATE and samples and samples % 240 == 0 for rate, samples in sizes)


async def test_speech_arrives_in_whole_10ms_frames(device_audio: DeviceAudioIO, speech_wav: Path, speech: np.ndarray) -> None:
    collector = FrameCollector(device_audio.input)
    await collector.running()
    await speak(speech_wav)
    heard = await collector.stop()
    assert collector.sizes == {(RATE, 480)}  # one 20 ms block, its two cleaned frames joined
    _, score = best_alignment(heard, speech)
    assert score > 0.98
    stats = device_audio.stats
    # woken at most once per 20 ms PortAudio block, never once per frame
    assert stats.input_wakeups <= stats.frames_delivered // 2 + 1


async def test_batched_input_arrives_in_whole_appends(device_audio: DeviceAudioIO, speech_wav: Path, speech: np.ndarray) -> None:
    """Hands-free, the session gets the plugin's 100 ms appends whole: one wake-up each."""
    microphone = device_audio.input
    microphone.batch(2400)
    collector = FrameCollector(microphone)
    await collector.running()
    await speak(speech_wav)
    heard = await collector.stop()
    assert collector.sizes == {(RATE, 2400)}
    _, score = best_alignment(heard, speech)
    assert score > 0.98
    stats = device_audio.stats
    assert stats.input_wakeups <= stats.frames_delivered // 10 + 1


async def test_a_partial_batch_is_dropped_not_delivered(device_audio: DeviceAudioIO, short_speech: np.ndarray, tmp_path: Path) -> None:
    """Detaching (push-to-talk, mute) drops the half-filled batch: delivering it later would
    shift every following batch against the plugin's appends, and leak old audio."""
    clip = tmp_path / "clip.wav"
    write_wav(clip, short_speech[: RATE // 2])
    microphone = device_audio.input
    microphone.batch(2400)
    collector = FrameCollector(microphone)
    await collector.running()
    for _ in range(3):
        await until(lambda: 0 < microphone.held_samples < 2400 - 480, 5, "a half-filled batch")
        delivered = device_audio.stats.frames_delivered
        microphone.on_detached()
        await until(lambda: microphone.held_samples == 0, 5, "the partial batch dropped")
        microphone.on_attached()
        assert device_audio.stats.frames_delivered == delivered
    await speak(clip)
    await collector.stop()
    assert collector.sizes == {(RATE, 2400)}
    with pytest.raises(ValueError, match="10 ms"):
        microphone.batch(1000)


async def test_frames_cut_before_batching_never_reach_the_session(device_audio: DeviceAudioIO) -> None:
    """Per-block frames queued while the session was still starting would shift every later
    batch against the plugin's appends (each chunk then waits for part of the next)."""
    microphone = device_audio.input
    await until(lambda: device_audio.stats.frames_captured > 10, 5, "frames queued with nobody reading")
    microphone.batch(2400)
    frames = [await asyncio.wait_for(microphone.__anext__(), 5) for _ in range(2)]
    assert [f.samples_per_channel for f in frames] == [2400, 2400]


async def test_resampled_input_matches(virtual_audio: object, short_speech_wav: Path, short_speech: np.ndarray) -> None:
    """A device that will not do 24 kHz: captured at 48 kHz and resampled."""
    audio = DeviceAudioIO(AudioSettings(), input_rate=48_000, output_rate=48_000)
    audio.processor.configure(ProcessingOptions(False, False, False, False))
    await audio.start()
    try:
        assert audio.stats.input_rate == 48_000 and audio.stats.output_rate == 48_000
        collector = FrameCollector(audio.input)
        await collector.running()
        await speak(short_speech_wav)
        heard = await collector.stop()
    finally:
        await audio.aclose()
    assert whole_10ms_frames(collector.sizes), collector.sizes
    _, score = best_alignment(heard, short_speech)
    assert score > 0.98


async def test_processing_keeps_speech(virtual_audio: object, speech_wav: Path, speech: np.ndarray) -> None:
    """Echo cancellation, noise suppression, high-pass and gain on: near-end speech with no
    far-end signal passes (filtered, so the match is looser)."""
    audio = DeviceAudioIO(AudioSettings())
    await audio.start()
    try:
        collector = FrameCollector(audio.input)
        await collector.running()
        await speak(speech_wav)
        heard = await collector.stop()
    finally:
        await audio.aclose()
    assert audio.processor.capture_frames > 0
    _, score = best_alignment(heard, high_passed(speech))
    assert score > 0.8  # noise suppression and gain reshape it a little


async def test_detached_or_muted_input_drops_frames(
    device_audio: DeviceAudioIO, short_speech: np.ndarray, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.wav"
    write_wav(clip, short_speech[: RATE // 2])
    microphone = device_audio.input
    collector = FrameCollector(microphone)
    await collector.running()

    microphone.on_detached()  # what session.input.set_audio_enabled(False) does
    await asyncio.sleep(0.05)
    count = len(collector.frames)
    await speak(clip)
    assert len(collector.frames) == count

    microphone.on_attached()
    device_audio.set_muted(True)
    readings: list[Any] = []
    unsubscribe = device_audio.subscribe_levels(readings.append)
    await speak(clip)
    unsubscribe()
    assert len(collector.frames) == count
    assert readings and all(r.input_peak == float("-inf") for r in readings)

    device_audio.set_muted(False)
    readings.clear()
    unsubscribe = device_audio.subscribe_levels(readings.append)
    await speak(clip)
    unsubscribe()
    await collector.stop()
    assert len(collector.frames) > count + 25
    assert max(r.input_peak for r in readings) > -30


async def test_a_quiet_microphone_is_waited_on_and_speech_wakes_it(
    device_audio: DeviceAudioIO, short_speech: np.ndarray, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.wav"
    write_wav(clip, short_speech[: RATE // 2])
    collector = FrameCollector(device_audio.input)
    await collector.running()
    device_audio.read_levels()
    waiter = asyncio.create_task(device_audio.wait_for_sound())
    await until(lambda: device_audio.levels.input_meter.waiting_for_sound, 5, "the waiter to arm")
    await asyncio.sleep(0.3)  # a silent microphone keeps delivering, and wakes nobody
    assert not waiter.done()
    await speak(clip)
    await asyncio.wait_for(waiter, 10)
    await collector.stop()
    assert not device_audio.levels.output_meter.waiting_for_sound
