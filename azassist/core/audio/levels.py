"""Input and output meters: accumulated on the audio threads, published about 30 times a second.

The audio callbacks only add a sum of squares and a peak per block (a few microseconds); the
event loop reads and resets them once per tick, so metering costs nothing per frame on the
loop and works the same under asyncio and qasync. In a quiet room the reader need not tick
at all: ``wait_for_sound`` sleeps until a meter hears something (the audio thread wakes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections.abc import Callable

import numpy as np

from azassist.core.events import Levels

log = logging.getLogger(__name__)

LEVELS_PER_SECOND = 30
SILENCE_DBFS = float("-inf")
# Below this a reading is silence to any meter (about 3 LSB of 16-bit audio, far under the
# -60 dB floor meters show); SilenceGate stops repeating such readings after the hold.
QUIET_DBFS = -80.0
SILENCE_HOLD_SECONDS = 1.5
_FULL_SCALE = 32768.0
# the smallest int16 peak above QUIET_DBFS: a block whose peak stays below it is quiet at
# any meter (its RMS can only be lower)
_QUIET_PEAK = math.floor(_FULL_SCALE * 10 ** (QUIET_DBFS / 20)) + 1


def to_dbfs(value: float) -> float:
    """Amplitude relative to int16 full scale, in dBFS (-inf for digital silence)."""
    if value <= 0:
        return SILENCE_DBFS
    return 20.0 * math.log10(value / _FULL_SCALE)


class LevelMeter:
    """RMS and peak of everything added since the last ``take``; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sum_squares = 0.0
        self._count = 0
        self._peak = 0
        self._on_sound: Callable[[], None] | None = None

    def add(self, samples: np.ndarray) -> None:
        """Called from an audio callback with int16 samples (any block size: once per block)."""
        if not len(samples):
            return
        if not np.count_nonzero(samples):  # digital silence, most of the time: no float work
            with self._lock:
                self._count += len(samples)
            return
        as_float = samples.astype(np.float32)
        sum_squares = float(np.dot(as_float, as_float))
        peak = int(np.abs(as_float, out=as_float).max())
        on_sound = None
        with self._lock:
            self._sum_squares += sum_squares
            self._count += len(samples)
            if peak > self._peak:
                self._peak = peak
            if peak >= _QUIET_PEAK and self._on_sound is not None:
                on_sound, self._on_sound = self._on_sound, None
        if on_sound is not None:
            on_sound()

    def add_silence(self, count: int) -> None:
        """``add`` for ``count`` samples the caller knows are all zeros (nothing to scan)."""
        with self._lock:
            self._count += count

    def call_on_sound(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` once (from whichever thread adds samples) when a block louder
        than QUIET_DBFS arrives, or now if one arrived since the last ``take``. None disarms."""
        with self._lock:
            heard = self._peak >= _QUIET_PEAK
            self._on_sound = None if heard else callback
        if heard and callback is not None:
            callback()

    @property
    def waiting_for_sound(self) -> bool:
        """A ``call_on_sound`` callback is armed."""
        return self._on_sound is not None

    def take(self) -> tuple[float, float]:
        """(rms, peak) in dBFS since the last call, and reset."""
        with self._lock:
            sum_squares, count, peak = self._sum_squares, self._count, self._peak
            self._sum_squares, self._count, self._peak = 0.0, 0, 0
        rms = math.sqrt(sum_squares / count) if count else 0.0
        return to_dbfs(rms), to_dbfs(float(peak))


class SilenceGate:
    """Lets level readings through, except a run of silence after a short hold.

    A connected assistant mostly listens to a quiet room; repeating "silent" 30 times a
    second makes every meter repaint for nothing. The hold lets meters that show a falling
    level get the silent readings they decay on before the readings stop.
    """

    def __init__(self, *, hold_seconds: float = SILENCE_HOLD_SECONDS, rate: float = LEVELS_PER_SECOND) -> None:
        self._hold = max(1, round(hold_seconds * rate))
        self._silent = 0

    def passes(self, *levels: float) -> bool:
        """True when this reading (dBFS values) should be published."""
        if any(level > QUIET_DBFS for level in levels):
            self._silent = 0
            return True
        self._silent += 1
        return self._silent <= self._hold

    def reset(self) -> None:
        self._silent = 0

    @property
    def quiet(self) -> bool:
        """The readings have been silent for longer than the hold: none are passing."""
        return self._silent > self._hold


async def wait_for_sound(*meters: LevelMeter) -> None:
    """Return once any of ``meters`` hears more than silence. Costs the loop nothing while it
    waits: the audio thread that adds the loud block wakes it."""
    loop = asyncio.get_running_loop()
    heard = asyncio.Event()

    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while we waited
            loop.call_soon_threadsafe(heard.set)

    try:
        for meter in meters:
            meter.call_on_sound(wake)
        await heard.wait()
    finally:
        for meter in meters:
            meter.call_on_sound(None)


LevelsCallback = Callable[[Levels], None]


class LevelPublisher:
    """Turns two meters into ``Levels`` events for subscribers, while anyone listens."""

    def __init__(
        self, input_meter: LevelMeter, output_meter: LevelMeter, *, rate: float = LEVELS_PER_SECOND
    ) -> None:
        self.input_meter = input_meter
        self.output_meter = output_meter
        self._interval = 1.0 / rate
        self._subscribers: list[LevelsCallback] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def subscribe(self, callback: LevelsCallback) -> Callable[[], None]:
        """Call ``callback`` on the event loop's thread about 30 times a second.

        Must be called with a running event loop. Returns the unsubscribe function.
        """
        self._subscribers.append(callback)
        if self._task is None and not self._closed:
            self.input_meter.take()  # start fresh, not with what piled up unobserved
            self.output_meter.take()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="audio-levels")

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def snapshot(self) -> Levels:
        """The levels since the previous reading (for a caller that polls instead)."""
        input_rms, input_peak = self.input_meter.take()
        output_rms, output_peak = self.output_meter.take()
        return Levels(input_rms, input_peak, output_rms, output_peak)

    async def _run(self) -> None:
        try:
            while self._subscribers and not self._closed:
                await asyncio.sleep(self._interval)
                levels = self.snapshot()
                for callback in list(self._subscribers):
                    try:
                        callback(levels)
                    except Exception:  # a broken meter widget must not stop the others
                        log.exception("levels subscriber failed")
        finally:
            self._task = None

    async def aclose(self) -> None:
        self._closed = True
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
