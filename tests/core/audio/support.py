"""Helpers for the audio tests: speech WAVs, a recorder on the virtual speaker's monitor,
playing into the virtual microphone, and signal comparison."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

from azassist.core.audio.facade import DeviceAudioIO
from azassist.core.audio.files import read_wav

RATE = 24_000


def make_speech(directory: Path, text: str, name: str = "speech") -> Path:
    """espeak-ng speech as a 24 kHz mono 16-bit WAV."""
    raw, wav = directory / f"{name}-raw.wav", directory / f"{name}.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True, timeout=30)
    subprocess.run(
        ["sox", str(raw), "-r", "24000", "-c", "1", "-b", "16", "-e", "signed-integer", str(wav)],
        check=True, capture_output=True, timeout=30,
    )
    return wav


class MonitorRecorder:
    """Records a PulseAudio source (default: what the app played on ``spk``) as 24 kHz int16."""

    def __init__(self, device: str = "spk.monitor") -> None:
        self._proc = subprocess.Popen(
            ["parec", f"--device={device}", "--rate=24000", "--channels=1", "--format=s16le",
             "--raw", "--latency-msec=10"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while True:
            data = self._proc.stdout.read1(4800)
            if not data:
                return
            with self._lock:
                self._chunks.append(data)

    def samples(self) -> np.ndarray:
        with self._lock:
            raw = b"".join(self._chunks)
        return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int16)

    def stop(self) -> np.ndarray:
        self._proc.terminate()
        self._proc.wait(timeout=5)
        self._thread.join(timeout=5)
        return self.samples()


def play_into_microphone(path: Path) -> subprocess.Popen[bytes]:
    """Speak a WAV into the virtual microphone (the app's default input)."""
    return subprocess.Popen(["paplay", "--device=mic", str(path)], stderr=subprocess.DEVNULL)


async def speak_into_microphone(path: Path, timeout: float = 20.0) -> None:
    """Play a WAV into the virtual microphone and wait until it has been played."""
    player = play_into_microphone(path)
    deadline = time.monotonic() + timeout
    try:
        while player.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"paplay did not finish playing {path.name}")
            await asyncio.sleep(0.02)
    finally:
        if player.poll() is None:
            player.kill()
            player.wait()
    assert player.returncode == 0, f"paplay failed on {path.name}"


def best_alignment(haystack: np.ndarray, needle: np.ndarray) -> tuple[int, float]:
    """(offset of ``needle`` in ``haystack``, normalised correlation there) via FFT."""
    a = haystack.astype(np.float64)
    b = needle.astype(np.float64)
    if len(a) < len(b):
        a = np.pad(a, (0, len(b) - len(a)))
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)[: len(a) - len(b) + 1]
    # normalise by the energy of each window of the haystack
    window_energy = np.convolve(a * a, np.ones(len(b)), mode="valid")
    norm = np.sqrt(np.maximum(window_energy, 1e-9) * float(np.dot(b, b)))
    score = corr / norm
    offset = int(np.argmax(score))
    return offset, float(score[offset])


def active_span(samples: np.ndarray, threshold: int = 64, frame: int = 240) -> tuple[int, int]:
    """First and last sample index of the non-silent part (10 ms granularity)."""
    if not len(samples):
        return 0, 0
    usable = len(samples) // frame * frame
    peaks = np.abs(samples[:usable].astype(np.int32)).reshape(-1, frame).max(axis=1)
    loud = np.flatnonzero(peaks > threshold)
    if not len(loud):
        return 0, 0
    start = int(loud[0]) * frame
    block = samples[start : start + frame]
    start += int(np.flatnonzero(np.abs(block.astype(np.int32)) > threshold)[0])
    end = int(loud[-1]) * frame
    block = samples[end : end + frame]
    end += int(np.flatnonzero(np.abs(block.astype(np.int32)) > threshold)[-1]) + 1
    return start, end


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


from tests.support.waiting import until  # noqa: E402  (re-exported for the audio tests)

__all__ = ["RATE", "MonitorRecorder", "active_span", "best_alignment", "high_passed", "make_speech",
           "play_into_microphone", "read_wav", "rms", "speak_into_microphone", "until"]


def high_passed(samples: np.ndarray) -> np.ndarray:
    """``samples`` through WebRTC's high-pass filter alone: what the microphone path delivers
    with every switchable feature off (the filter always runs)."""
    from azassist.core.audio.memory import frame_samples, int16_frame
    from azassist.core.audio.processing import AudioProcessor, ProcessingOptions

    processor = AudioProcessor(ProcessingOptions(False, False, False, True))
    padded = np.pad(samples, (0, -len(samples) % 240))
    out = []
    for start in range(0, len(padded), 240):
        frame = int16_frame(padded[start : start + 240])
        processor.process_capture(frame)
        out.append(frame_samples(frame))
    return np.concatenate(out)[: len(samples)]


def device_glitches(audio: DeviceAudioIO) -> int:
    """Overflows and underflows PortAudio reported on the audio's streams so far.

    A sound server that misses its deadline on a loaded 2-core machine (``ALSA lib pcm.c:
    underrun occurred``) cuts a gap into what the monitor records, whatever the code under
    test did. Tests that compare recorded signals sample-exactly play once more when this
    count moved, and say so; two glitched attempts in a row still fail.
    """
    stats = audio.stats
    return int(stats.input_overflows + stats.output_device_underflows)
