"""The microphone as a LiveKit ``AudioInput``: PortAudio blocks -> 24 kHz -> 10 ms frames ->
echo canceller -> one frame per block -> the session.

Everything per frame happens on PortAudio's thread; the event loop is only woken when the
session is actually waiting for audio and at most once per block, because under qasync every
wake-up is a Qt signal. The canceller works on 10 ms frames, but the session gets each
block's cleaned frames joined into one (whole 10 ms multiples): they would reach it in the
same wake-up anyway, and every frame costs the loop a trip through LiveKit's forwarding and
the metering. Frames are dropped at the source while the session has detached the input
(push-to-talk released) or the user muted it: LiveKit keeps reading a detached input, so an
input that kept delivering would leak speech into the conversation.

While the service detects turns (hands-free), blocks are batched into the 100 ms appends the
LiveKit plugin sends: it cuts its appends from the start of the stream and sends none before
its last sample arrives, so handing it exactly those 100 ms delays nothing on the wire and
wakes the event loop 10 times a second instead of 50. Alignment holds because only whole
batches reach the session while batching (frames cut before batching began are dropped),
and a partial batch is dropped, never delivered, when the input is detached or muted (the
plugin's buffer is then empty too).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents.voice.io import AudioInput

from azassist.core.audio.devices import AudioDevice
from azassist.core.audio.levels import LevelMeter
from azassist.core.audio.memory import FRAME_SAMPLES, SAMPLE_RATE, frame_samples, int16_frame
from azassist.core.audio.processing import AudioProcessor, FrameChunker
from azassist.core.audio.streams import DeviceStream

log = logging.getLogger(__name__)

INPUT_BLOCK_SECONDS = 0.02  # 50 wake-ups a second at most; the session sends 100 ms chunks
MAX_QUEUED_SAMPLES = SAMPLE_RATE // 2  # a session that stops reading gets recent audio, not a backlog


def _stream_time(value: float, now: float) -> float:
    """A PortAudio callback time, or 0 when the host API does not provide a usable one."""
    return value if value > 0 and abs(now - value) < 1.0 else 0.0


# How far PortAudio's reported capture time may stray from the sample count before the count
# is re-anchored on it (a suspended device came back, blocks were lost unreported).
REANCHOR_SECONDS = 0.25
# How slowly the count follows the reported times: a microphone on another clock than the
# speaker (a USB webcam's, say) drifts by up to ~100 ppm, which this tracks to within a few
# ms, while a wander of tens of ms over seconds moves it by a few ms at most.
STEER_SECONDS = 60.0


class SampleClock:
    """When each block of a capture stream began, counted from its samples (audio thread).

    PortAudio reports a capture time with every block. On PulseAudio's ALSA plugin those
    times wandered by up to 45 ms within 10 s in some runs while the sample count stayed
    exact; aligned by them, the played audio reached the echo canceller at a moving offset,
    which it took for a moving echo path and let the echo through (22-51 dB of reduction
    instead of about 84 dB, in 3 of 8 runs of the echo benchmark; replaying the recorded
    runs with counted times gave 83-84 dB in all). So the first reported time anchors the
    count, which follows the reported times only slowly (STEER_SECONDS), and a lost block or
    a reported time beyond REANCHOR_SECONDS anchors it anew.
    """

    def __init__(self) -> None:
        self._anchor = 0.0
        self._rate = 0  # 0: not anchored
        self._counted = 0  # samples since the anchor
        self.anchors = 0

    def reset(self) -> None:
        """A new stream: the next block anchors the count."""
        self._rate = 0

    def block_time(self, reported: float, samples: int, rate: int, *, lost: bool = False) -> float:
        """The start of a block of ``samples`` at ``rate``; 0 when no time is reported.
        ``lost``: input was dropped before this block (an overflow), so the count broke."""
        if not reported:
            self._rate = 0
            return 0.0
        counted = self._anchor + self._counted / self._rate if self._rate == rate else reported
        if self._rate != rate or lost or abs(reported - counted) > REANCHOR_SECONDS:
            self._anchor, self._rate, self._counted, counted = reported, rate, 0, reported
            self.anchors += 1
        else:  # follow a real clock drift, not the wander
            self._anchor += (reported - counted) * samples / rate / STEER_SECONDS
        self._counted += samples
        return counted


def _joined(frames: list[rtc.AudioFrame]) -> rtc.AudioFrame:
    """One frame holding ``frames`` back to back (same rate, mono)."""
    data = b"".join(frame.data for frame in frames)
    return rtc.AudioFrame(
        data=data, sample_rate=frames[0].sample_rate, num_channels=1, samples_per_channel=len(data) // 2
    )


class MicrophoneInput(AudioInput):
    """Mono 24 kHz 10 ms frames from a PortAudio input device, cleaned by ``processor``."""

    def __init__(
        self,
        *,
        processor: AudioProcessor,
        meter: LevelMeter,
        on_lost: Callable[[str], None],
        echo_delay: Callable[[], float] = lambda: 0.0,
        label: str = "microphone",
    ) -> None:
        super().__init__(label=label)
        self._processor = processor
        self._meter = meter
        self._echo_delay = echo_delay  # the speaker's output latency, for the echo canceller
        self.stream = DeviceStream("input", self._on_block, on_lost=on_lost, block_seconds=INPUT_BLOCK_SECONDS)
        self._chunker = FrameChunker(FRAME_SAMPLES)
        self.clock = SampleClock()
        self._resampler: rtc.AudioResampler | None = None
        self._queue: collections.deque[rtc.AudioFrame] = collections.deque()
        self._batch = 0  # samples per delivered frame; 0: one frame per device block
        self._held = bytearray()  # cleaned audio of the batch being filled
        self._drop_held = False  # set on the loop (detach, mute); the audio thread drops it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self._waiting = False
        self._wake_pending = False
        self._attached = True
        self._muted = False
        self._closed = False
        self.frames_captured = 0
        self.frames_delivered = 0
        self.frames_dropped = 0
        self.overflows = 0
        self.wakeups = 0
        self.input_latency = 0.0

    # --- device ---------------------------------------------------------------------------
    def open(self, device: AudioDevice, *, rate: int | None = None) -> None:
        """Start capturing from ``device`` (raises AudioDeviceError)."""
        self._loop = asyncio.get_running_loop()
        self.stream.close()
        self._chunker.reset()
        self.clock.reset()
        opened = self.stream.open(device, rate=rate)
        self._resampler = rtc.AudioResampler(opened, SAMPLE_RATE) if opened != SAMPLE_RATE else None

    def close_device(self) -> None:
        self.stream.close()

    # --- controls -------------------------------------------------------------------------
    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        if muted:
            self._drop_held = True
            self._queue.clear()

    def batch(self, samples: int) -> None:
        """Deliver frames of whole ``samples``-long batches (whole 10 ms multiples; 0: one
        frame per block). Takes effect at the next block, which delivers every whole batch
        held by then (a partial one waits)."""
        if samples % FRAME_SAMPLES:
            raise ValueError(f"a batch must be whole 10 ms frames, not {samples} samples")
        self._batch = samples

    @property
    def batch_samples(self) -> int:
        return self._batch

    @property
    def held_samples(self) -> int:
        """Samples of the batch being filled (not yet delivered)."""
        return len(self._held) // 2

    @property
    def attached(self) -> bool:
        return self._attached

    def on_attached(self) -> None:
        self._attached = True

    def on_detached(self) -> None:
        self._attached = False
        self._drop_held = True
        self._queue.clear()  # audio from before the detach must not arrive after it

    # --- PortAudio thread -----------------------------------------------------------------
    def _on_block(self, indata: np.ndarray, time_info: Any, status: Any) -> None:
        if status.input_overflow:
            self.overflows += 1
            self._processor.capture_gap()
        self.input_latency = max(0.0, time_info.currentTime - time_info.inputBufferAdcTime)
        reported = _stream_time(time_info.inputBufferAdcTime, time_info.currentTime)
        lost = bool(status.input_overflow)
        block_adc = self.clock.block_time(reported, len(indata), self.stream.rate, lost=lost)
        # with capture times the echo canceller's inputs are aligned on the stream clock, so
        # only the acoustic path is left; without them it needs the devices' latencies
        self._processor.set_stream_delay(0.0 if block_adc else self.input_latency + self._echo_delay())
        samples = indata[:, 0]
        if self._resampler is not None:
            converted = self._resampler.push(int16_frame(samples, self.stream.rate))
            samples = np.concatenate([frame_samples(f) for f in converted]) if converted else samples[:0]
        passing = self._attached and not self._muted and not self._closed
        lead = self._chunker.pending  # samples from the previous block that start this frame
        cleaned: list[rtc.AudioFrame] = []
        for index, chunk in enumerate(self._chunker.push(samples)):
            frame = int16_frame(chunk)
            adc = block_adc + (index * FRAME_SAMPLES - lead) / SAMPLE_RATE if block_adc else 0.0
            self._processor.process_capture(frame, adc)  # always: keeps the canceller converged
            cleaned.append(frame)
        self.frames_captured += len(cleaned)
        batch = self._batch
        if self._held and (self._drop_held or not passing or not batch):
            # never delivered, so the plugin's buffer holds no part of it: alignment stays
            self.frames_dropped += len(self._held) // (2 * FRAME_SAMPLES)
            self._held.clear()
        self._drop_held = False
        if not passing:
            self.frames_dropped += len(cleaned)
            return
        if not cleaned:
            return
        block = cleaned[0] if len(cleaned) == 1 else _joined(cleaned)
        self._meter.add(np.frombuffer(block.data, dtype=np.int16))
        if batch:
            self._held += block.data
            # every whole batch held: after a switch to a shorter batch that may be several
            whole = len(self._held) // (2 * batch) * batch
            if not whole:
                return
            block = rtc.AudioFrame(
                data=bytes(self._held[: 2 * whole]), sample_rate=SAMPLE_RATE, num_channels=1, samples_per_channel=whole
            )
            del self._held[: 2 * whole]
        self._enqueue(block)

    def _enqueue(self, frame: rtc.AudioFrame) -> None:
        """Queue for the session (dropping the oldest beyond MAX_QUEUED_SAMPLES) and wake it."""
        while self._queue and len(self._queue) * frame.samples_per_channel >= MAX_QUEUED_SAMPLES:
            with contextlib.suppress(IndexError):  # the loop may have just taken it
                self.frames_dropped += self._queue.popleft().samples_per_channel // FRAME_SAMPLES
        self._queue.append(frame)
        if self._waiting and not self._wake_pending:
            self._wake_pending = True
            self.wakeups += 1
            self._loop.call_soon_threadsafe(self._wake)  # type: ignore[union-attr]

    # --- event loop -----------------------------------------------------------------------
    def _wake(self) -> None:
        self._wake_pending = False
        self._ready.set()

    async def __anext__(self) -> rtc.AudioFrame:
        while True:
            if self._closed:
                raise StopAsyncIteration
            try:
                frame = self._queue.popleft()
            except IndexError:
                pass
            else:
                if self._batch and frame.samples_per_channel != self._batch:
                    # cut before batching began (queued while the session was starting):
                    # one such frame would shift every later batch against the appends
                    self.frames_dropped += frame.samples_per_channel // FRAME_SAMPLES
                    continue
                self.frames_delivered += frame.samples_per_channel // FRAME_SAMPLES
                return frame
            self._ready.clear()
            self._waiting = True
            try:
                if not self._queue:  # a block may have landed between popleft and _waiting
                    await self._ready.wait()
            finally:
                self._waiting = False

    def close(self) -> None:
        """End the stream of frames for good (the session's read loop then stops)."""
        self._closed = True
        self.stream.close()
        self._ready.set()
