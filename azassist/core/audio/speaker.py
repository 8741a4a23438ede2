"""The speaker as a LiveKit ``AudioOutput`` that honours the playback contract.

- ``playback_started`` fires when the first sample of a segment reaches the device's DAC,
  from the callback's ``outputBufferDacTime``: the assistant is "speaking" only when heard.
- ``playback_finished`` fires exactly once per segment: when its last sample reaches the
  DAC, or at once on ``clear_buffer()`` with how much was handed to the device (all of which
  will be heard: nothing can be taken back from the device's own buffer). A missing report
  would hang the reply forever in ``wait_for_playout``.
- ``clear_buffer()`` silences from the next callback (one 10 ms block).
- A segment starts playing once ``JitterBuffer.target`` seconds are queued (or it is flushed).
  The target starts small and grows only when a segment actually runs dry mid-way (an
  underrun), then slowly shrinks again: as small as glitch-free playback allows.
- Everything played feeds the echo canceller's reverse stream, 10 ms at a time.

Without a working device (lost, or none) a ``SilentClock`` thread consumes the queue in
real time instead, so replies still end and the conversation goes on while audio is retried.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents.voice.io import AudioOutput, AudioOutputCapabilities

from azassist.core.audio.devices import AudioDevice
from azassist.core.audio.levels import LevelMeter
from azassist.core.audio.memory import SAMPLE_RATE, frame_samples, int16_frame
from azassist.core.audio.processing import AudioProcessor
from azassist.core.audio.streams import DeviceStream

log = logging.getLogger(__name__)

OUTPUT_BLOCK_SECONDS = 0.01


@dataclass
class DeviceBuffer:
    """PortAudio's device buffer (its suggested latency), grown only when the machine needs it.

    Python feeds the device from a callback that needs the GIL. On an idle machine "low"
    (21-32 ms measured on the virtual devices) plays sample-exact; under CPU contention (2
    cores, the session, the UI) it and 50 ms ran dry, 80 ms did not. So a speaker opens at
    the first step, and every underflow PortAudio reports while a reply is audible moves it
    one step up, applied by reopening the stream between replies (never mid-reply). After
    ``patience`` replies without one it steps back down. clear_buffer() cannot take back
    what is in the device buffer, but the reported position includes it, so barge-in
    stays honest whatever the step.
    """

    steps: tuple[str | float, ...] = ("low", 0.04, 0.08, 0.15)
    step: int = 0
    patience: int = 30
    clean_segments: int = 0

    @property
    def latency(self) -> str | float:
        return self.steps[self.step]

    def on_underflow(self) -> bool:
        """An audible underflow; True when the buffer should grow (reopen the stream)."""
        self.clean_segments = 0
        if self.step + 1 >= len(self.steps):
            return False
        self.step += 1
        log.info("speaker underflow: device buffer grows to %s", _describe(self.latency))
        return True

    def on_clean_segment(self) -> bool:
        """A reply played without an underflow; True when the buffer should shrink."""
        self.clean_segments += 1
        if self.step == 0 or self.clean_segments < self.patience:
            return False
        self.step -= 1
        self.clean_segments = 0
        log.info("%d clean replies: device buffer shrinks to %s", self.patience, _describe(self.latency))
        return True


def _describe(latency: str | float) -> str:
    return latency if isinstance(latency, str) else f"{latency * 1000:.0f} ms"


@dataclass
class JitterBuffer:
    """How much audio to queue before a segment starts, adapted to underruns."""

    # Measured on the virtual devices against the local server (100 ms deltas, real-time
    # pace): no underrun at 10 ms; the first delta fills it at once, so it costs nothing
    # on a steady link and grows by step_up per underrun on a jittery one.
    target: float = 0.02
    minimum: float = 0.01
    maximum: float = 0.3
    step_up: float = 0.04
    step_down: float = 0.005

    def on_segment_played(self, underruns: int) -> None:
        if underruns:
            self.target = min(self.maximum, self.target + self.step_up * underruns)
            log.info("speaker ran dry %d time(s); jitter buffer now %.0f ms", underruns, self.target * 1000)
        else:
            self.target = max(self.minimum, self.target - self.step_down)


@dataclass
class _Segment:
    id: int
    chunks: collections.deque[np.ndarray] = field(default_factory=collections.deque)
    queued: int = 0  # samples captured, device rate
    consumed: int = 0  # samples handed to the device
    flushed: bool = False
    primed: bool = False
    started: bool = False  # first sample handed to the device
    announced: bool = False  # playback_started emitted
    ended: bool = False  # playback_finished emitted (or due from clear_buffer)
    underruns: int = 0
    first_frame_at: float = 0.0  # time.time() when its first frame was captured

    def take(self, out: np.ndarray) -> int:
        """Copy queued samples into ``out``; returns how many."""
        written = 0
        while written < len(out) and self.chunks:
            head = self.chunks[0]
            count = min(len(head), len(out) - written)
            out[written : written + count] = head[:count]
            written += count
            if count == len(head):
                self.chunks.popleft()
            else:
                self.chunks[0] = head[count:]
        self.consumed += written
        return written


@dataclass
class _Report:
    """A playback event waiting for its sample to reach the DAC."""

    segment: _Segment
    kind: str  # "started" | "finished"
    wall_time: float
    position: float = 0.0
    handle: asyncio.TimerHandle | None = None


class SpeakerOutput(AudioOutput):
    """24 kHz mono segments played on a PortAudio output device (or a silent clock)."""

    def __init__(
        self,
        *,
        processor: AudioProcessor,
        meter: LevelMeter,
        on_lost: Callable[[str], None],
        jitter: JitterBuffer | None = None,
        device_buffer: DeviceBuffer | None = None,
        label: str = "speaker",
    ) -> None:
        super().__init__(
            label=label, capabilities=AudioOutputCapabilities(pause=True), sample_rate=SAMPLE_RATE
        )
        self._processor = processor
        self._meter = meter
        self.jitter = jitter or JitterBuffer()
        self.device_buffer = device_buffer or DeviceBuffer()
        self._on_lost = on_lost
        self.stream = DeviceStream(
            "output", self._on_block, on_lost=on_lost, block_seconds=OUTPUT_BLOCK_SECONDS,
            latency=self.device_buffer.latency,
        )
        self._resize_due = False  # the device buffer changed step: reopen when idle
        self._last_block_audible = False
        self._clock: SilentClock | None = None
        self._lock = threading.Lock()
        self._queue: collections.deque[_Segment] = collections.deque()
        self._current: _Segment | None = None  # the segment being captured
        self._discard_until_flush = False
        self._next_id = 0
        self._paused = False
        self._rate = SAMPLE_RATE
        self._resampler: rtc.AudioResampler | None = None
        self._reports: list[_Report] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.output_latency = 0.0  # callback -> DAC, seconds
        self.underruns = 0  # segments that ran dry mid-way (jitter)
        self.device_underflows = 0  # PortAudio's own output underflow flags
        self.audible_underflows = 0  # ... of those, the ones that cut into a reply
        self.device_reopens = 0  # device buffer resized between replies
        self.segments_played = 0
        self.samples_played = 0  # handed to the device (or the silent clock), all segments
        self.segments_interrupted = 0
        self.start_delays: list[float] = []  # first frame captured -> first sample at the DAC

    # --- device ---------------------------------------------------------------------------
    @property
    def rate(self) -> int:
        return self._rate

    def open(self, device: AudioDevice, *, rate: int | None = None) -> None:
        """Play on ``device`` from now on (raises AudioDeviceError; the silent clock then runs)."""
        self._loop = asyncio.get_running_loop()
        self._stop_clock()
        try:
            opened = self.stream.open(device, rate=rate)
        except Exception:
            self.run_without_device()
            raise
        self._set_rate(opened)

    def run_without_device(self) -> None:
        """Keep time with no device: queued audio is consumed silently in real time."""
        self._loop = asyncio.get_running_loop()
        self.stream.close()
        if self._clock is None:
            self._set_rate(SAMPLE_RATE)
            self._clock = SilentClock(self._on_clock_block, self._rate)
            self._clock.start()

    def close_device(self) -> None:
        self.stream.close()
        self._stop_clock()

    def _stop_clock(self) -> None:
        if self._clock is not None:
            self._clock.stop()
            self._clock = None

    def _set_rate(self, rate: int) -> None:
        if rate == self._rate:
            return
        # queued audio is at the old rate: end what is queued rather than play it wrongly
        self.clear_buffer()
        self._rate = rate
        self._resampler = None

    # --- LiveKit contract -----------------------------------------------------------------
    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self._discard_until_flush:
            return  # the rest of a segment that clear_buffer() already ended
        samples = self._to_device_rate(frame)
        with self._lock:
            if self._current is None:
                self._current = _Segment(self._next_id, first_frame_at=time.time())
                self._next_id += 1
                self._queue.append(self._current)
            if len(samples):
                self._current.chunks.append(samples)
                self._current.queued += len(samples)

    def _to_device_rate(self, frame: rtc.AudioFrame) -> np.ndarray:
        if frame.sample_rate == self._rate and frame.num_channels == 1:
            return frame_samples(frame)
        if self._resampler is None:
            self._resampler = rtc.AudioResampler(frame.sample_rate, self._rate)
        converted = self._resampler.push(int16_frame(frame_samples(frame), frame.sample_rate))
        return np.concatenate([frame_samples(f) for f in converted]) if converted else np.zeros(0, np.int16)

    def flush(self) -> None:
        super().flush()
        if self._discard_until_flush:
            self._discard_until_flush = False
            return
        tail = np.zeros(0, np.int16)
        if self._resampler is not None:
            converted = self._resampler.flush()
            self._resampler = None
            if converted:
                tail = np.concatenate([frame_samples(f) for f in converted])
        with self._lock:
            segment, self._current = self._current, None
            if segment is not None:
                if len(tail):
                    segment.chunks.append(tail)
                    segment.queued += len(tail)
                segment.flushed = True
        if segment is None and self._pending_playback_count > 0:
            # nothing was captured for this segment, it still needs its report
            self.on_playback_finished(playback_position=0.0, interrupted=False)

    def clear_buffer(self) -> None:
        with self._lock:
            dropped = list(self._queue)
            self._queue.clear()
            if self._current is not None:
                self._discard_until_flush = True
                self._current = None
        self._resampler = None
        # reports already due for earlier segments go first, in order, so the last report
        # LiveKit sees (wait_for_playout returns it) is the interrupted segment's
        for report in sorted(self._reports, key=lambda r: (r.segment.id, r.kind != "started")):
            self._fire(report)
        for segment in dropped:
            segment.ended = True
            self.segments_interrupted += 1
            if segment.started and not segment.announced:
                segment.announced = True
                self.on_playback_started(created_at=time.time())
            self._finish(segment.consumed / self._rate, interrupted=True)

    def pause(self) -> None:
        super().pause()
        with self._lock:  # once this returns, no further sample is handed to the device
            self._paused = True

    def resume(self) -> None:
        super().resume()
        with self._lock:
            self._paused = False

    @property
    def queued_seconds(self) -> float:
        with self._lock:
            return sum(s.queued - s.consumed for s in self._queue) / self._rate

    @property
    def idle(self) -> bool:
        """Nothing queued and no report outstanding."""
        with self._lock:
            return not self._queue and not self._reports and self._current is None

    # --- PortAudio / clock thread ---------------------------------------------------------
    def _on_block(self, outdata: np.ndarray, time_info: Any, status: Any) -> None:
        self.output_latency = max(0.0, time_info.outputBufferDacTime - time_info.currentTime)
        out = outdata[:, 0]
        written = self._fill(out, dac_wall=time.time() + self.output_latency)
        if status.output_underflow:
            self.device_underflows += 1
            if self._last_block_audible or written:  # a gap inside a reply, not in silence
                self.audible_underflows += 1
                self._processor.playback_gap()
                self._call_on_loop(self._on_audible_underflow)
        self._last_block_audible = written > 0
        dac = time_info.outputBufferDacTime
        silent = not written  # _fill zeroed the whole block: neither side needs to scan it
        self._processor.process_render(
            out, self._rate, dac if dac > 0 and abs(dac - time_info.currentTime) < 1.0 else 0.0, silent=silent
        )
        if silent:
            self._meter.add_silence(len(out))
        else:
            self._meter.add(out)

    def _on_clock_block(self, out: np.ndarray) -> None:
        self._fill(out, dac_wall=time.time())

    def _fill(self, out: np.ndarray, *, dac_wall: float) -> int:
        """Fill one device block from the queue; note starts, ends and underruns. Returns
        how many samples came from the queue (the rest is silence)."""
        if not self._queue:  # idle, most of the time: no lock, no bookkeeping (a segment
            out.fill(0)  # queued right now is simply picked up by the next block)
            return 0
        written = 0
        reports: list[_Report] = []
        target = int(self.jitter.target * self._rate)
        with self._lock:
            while not self._paused and written < len(out) and self._queue:
                segment = self._queue[0]
                if not segment.primed:
                    if not segment.flushed and segment.queued - segment.consumed < target:
                        break
                    segment.primed = True
                at = dac_wall + written / self._rate
                count = segment.take(out[written:])
                if count and not segment.started:
                    segment.started = True
                    reports.append(_Report(segment, "started", at))
                written += count
                self.samples_played += count
                if segment.consumed < segment.queued:
                    continue
                if segment.flushed:
                    self._queue.popleft()
                    end = dac_wall + written / self._rate
                    reports.append(_Report(segment, "finished", end, segment.consumed / self._rate))
                    self._segment_done(segment)
                    continue
                if written < len(out) and segment.started:
                    segment.underruns += 1  # ran dry mid-segment: rebuffer before going on
                    self.underruns += 1
                    segment.primed = False
                break
        out[written:] = 0
        if reports:
            self._call_on_loop(self._schedule, reports)
        return written

    def _call_on_loop(self, callback: Callable[..., None], *args: Any) -> None:
        if self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            pass  # loop closed

    def _segment_done(self, segment: _Segment) -> None:
        self.jitter.on_segment_played(segment.underruns)

    # --- device buffer (event loop) -------------------------------------------------------
    def _on_audible_underflow(self) -> None:
        if not self._resize_due and self.device_buffer.on_underflow():
            self._resize_due = True
            self._resize_when_idle()

    def _on_segment_ended(self, *, interrupted: bool) -> None:
        if not interrupted and not self._resize_due and self.device_buffer.on_clean_segment():
            self._resize_due = True
        self._resize_when_idle()

    def _resize_when_idle(self) -> None:
        """Reopen the device with the buffer's new size, but only between replies."""
        if not self._resize_due or not self.idle:
            return
        self._resize_due = False
        device = self.stream.device
        self.stream.latency = self.device_buffer.latency
        if device is None or not self.stream.is_open:
            return  # applies at the next open
        try:
            self.open(device, rate=self._rate)
        except Exception as exc:
            log.warning("could not reopen the speaker with a new buffer: %s", exc)
            self._on_lost(str(exc))
            return
        self.device_reopens += 1

    # --- event loop -----------------------------------------------------------------------
    def _schedule(self, reports: list[_Report]) -> None:
        assert self._loop is not None
        for report in reports:
            if report.segment.ended:
                continue  # clear_buffer() already reported this segment
            if report.kind == "started":
                self.start_delays.append(report.wall_time - report.segment.first_frame_at)
            report.handle = self._loop.call_at(
                self._loop.time() + max(0.0, report.wall_time - time.time()), self._fire, report
            )
            self._reports.append(report)

    def _fire(self, report: _Report) -> None:
        if report not in self._reports:
            return
        self._reports.remove(report)
        if report.handle is not None:
            report.handle.cancel()
        if report.kind == "started":
            report.segment.announced = True
            self.on_playback_started(created_at=report.wall_time)
        else:
            report.segment.ended = True
            self.segments_played += 1
            self._finish(report.position, interrupted=False)

    def _finish(self, position: float, *, interrupted: bool) -> None:
        if self._pending_playback_count > 0:
            self.on_playback_finished(playback_position=position, interrupted=interrupted)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon(lambda: self._on_segment_ended(interrupted=interrupted))

    def close(self) -> None:
        """Stop playing and end every outstanding segment, so no reply waits forever."""
        self.close_device()
        self.clear_buffer()
        self._discard_until_flush = False
        while self._pending_playback_count > 0:
            self.on_playback_finished(playback_position=0.0, interrupted=True)


class SilentClock:
    """A thread that pulls 10 ms blocks in real time, standing in for a missing device."""

    def __init__(self, pull: Callable[[np.ndarray], None], rate: int) -> None:
        self._pull = pull
        self._block = np.zeros(max(1, rate // 100), dtype=np.int16)
        self._period = len(self._block) / rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="azassist-silent-clock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                self._pull(self._block)
            except Exception:
                log.exception("silent clock block failed")
            next_at += self._period
            delay = next_at - time.monotonic()
            if delay < -0.2:
                next_at = time.monotonic()  # fell far behind (suspended machine): do not race
            elif delay > 0:
                self._stop.wait(delay)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=1.0)
