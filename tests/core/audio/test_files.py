"""WAV files through the same seams: a file as the microphone, a file as the speaker."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from azassist.core.audio.facade import open_file_audio
from azassist.core.audio.files import AudioFileError, WavFileInput, read_wav, write_wav
from azassist.core.audio.memory import int16_frame
from tests.core.audio.support import RATE, best_alignment

pytestmark = pytest.mark.asyncio


async def test_wav_input_delivers_the_file_then_silence(speech_wav: Path, speech: np.ndarray) -> None:
    source = WavFileInput(speech_wav, pace=0)
    frames = [await source.__anext__() for _ in range(len(speech) // 240 + 20)]
    assert {(f.sample_rate, f.samples_per_channel) for f in frames} == {(RATE, 240)}
    heard = np.concatenate([np.frombuffer(f.data, np.int16) for f in frames])
    assert np.array_equal(heard[: len(speech)], speech)
    assert not heard[len(speech) + 240 :].any()
    assert source.idle


async def test_wav_input_converts_rate_and_channels(tmp_path: Path, speech: np.ndarray) -> None:
    """A 48 kHz stereo file arrives as 24 kHz mono."""
    path = tmp_path / "stereo48k.wav"
    from azassist.core.audio.files import resample

    upsampled = resample(speech, RATE, 48_000)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(48_000)
        writer.writeframes(np.repeat(upsampled, 2).astype("<i2").tobytes())
    converted = read_wav(path)
    assert abs(len(converted) - len(speech)) < 240
    _, score = best_alignment(np.pad(converted, (240, 240)), speech[: len(converted) - 240])
    assert score > 0.99


async def test_unreadable_file_is_a_plain_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioFileError, match=r"notes\.wav could not be read as a WAV file"):
        read_wav(bad)


async def test_muted_file_input_sends_silence(speech_wav: Path) -> None:
    audio = open_file_audio(speech_wav, pace=0)
    audio.set_muted(True)
    frame = await audio.input.__anext__()
    assert not np.frombuffer(frame.data, np.int16).any()
    audio.set_muted(False)
    await audio.aclose()


async def test_wav_output_writes_what_was_heard(tmp_path: Path, speech: np.ndarray) -> None:
    path = tmp_path / "out.wav"
    audio = open_file_audio(output_path=path, pace=0)
    sink = audio.output
    finished: list[Any] = []
    sink.on("playback_finished", finished.append)
    for start in range(0, len(speech), 4800):
        await sink.capture_frame(int16_frame(speech[start : start + 4800]))
    sink.flush()
    await asyncio.wait_for(sink.wait_for_playout(), 5)

    await sink.capture_frame(int16_frame(speech[:RATE]))  # a second segment, cut at once
    sink.clear_buffer()
    await asyncio.wait_for(sink.wait_for_playout(), 5)
    await audio.aclose()

    assert [ev.interrupted for ev in finished] == [False, True]
    assert np.array_equal(read_wav(path)[: len(speech)], speech)


async def test_write_wav_round_trip(tmp_path: Path, speech: np.ndarray) -> None:
    write_wav(tmp_path / "x.wav", speech)
    assert np.array_equal(read_wav(tmp_path / "x.wav"), speech)
