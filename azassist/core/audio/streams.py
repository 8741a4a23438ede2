"""One PortAudio stream (microphone or speaker) that opens at 24 kHz when it can and reports
its own death.

PortAudio ends a stream's thread when the device goes away (unplugged, the sound server
killed the stream): its ``finished_callback`` then runs although nobody stopped it. That,
or callbacks that stop arriving, is how a lost device is noticed; the owner is told on the
event loop's thread and decides how to recover.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from azassist.core.audio.devices import (
    AudioDevice,
    AudioDeviceError,
    Direction,
    close_stream,
    device_role,
    open_stream,
)
from azassist.core.audio.memory import SAMPLE_RATE

log = logging.getLogger(__name__)

# (samples, PortAudio time info, PortAudio status flags) -> None, on PortAudio's thread
BlockCallback = Callable[[np.ndarray, Any, Any], None]


class DeviceStream:
    """Opens, runs and closes one mono int16 stream; tells ``on_lost`` when it dies by itself."""

    def __init__(
        self,
        direction: Direction,
        on_block: BlockCallback,
        *,
        on_lost: Callable[[str], None],
        block_seconds: float = 0.01,
        latency: str | float = "low",
    ) -> None:
        self.direction = direction
        self._on_block = on_block
        self._on_lost = on_lost
        self._block_seconds = block_seconds
        self.latency = latency  # PortAudio's suggested latency; used at the next open
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.device: AudioDevice | None = None
        self.rate = SAMPLE_RATE
        self.last_callback_at = 0.0
        self.callback_errors = 0

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def open(self, device: AudioDevice, *, rate: int | None = None) -> int:
        """Open and start on ``device``; at ``rate`` if given, else 24 kHz, else the device's
        native rate. Returns the rate in use. Raises AudioDeviceError in plain words."""
        self.close()
        self._loop = asyncio.get_running_loop()
        rates = [rate] if rate else [SAMPLE_RATE]
        native = int(device.default_samplerate)
        if not rate and native and native != SAMPLE_RATE:
            rates.append(native)
        error: AudioDeviceError | None = None
        for candidate in rates:
            try:
                stream = open_stream(
                    self.direction,
                    device,
                    samplerate=candidate,
                    channels=1,
                    dtype="int16",
                    blocksize=max(1, int(candidate * self._block_seconds)),
                    latency=self.latency,
                    callback=self._callback,
                    finished_callback=self._finished,
                )
            except AudioDeviceError as exc:
                error = exc
                log.info("%s: %s at %d Hz", self.direction, exc, candidate)
                continue
            try:
                self._stream = stream
                self.device, self.rate = device, candidate
                self.last_callback_at = time.monotonic()
                stream.start()
            except Exception as exc:
                self.close()
                error = AudioDeviceError(f"The {device_role(self.direction)} “{device.name}” could not be started ({exc}).")
                continue
            log.info(
                "%s open: %s (%s) at %d Hz, latency %.1f ms",
                self.direction, device.name, device.host_api, candidate, 1000 * float(stream.latency),
            )
            return candidate
        assert error is not None
        raise error

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            close_stream(stream)

    @property
    def time(self) -> float:
        """PortAudio's clock for this stream (the clock callback times are on)."""
        stream = self._stream
        try:
            return float(stream.time) if stream is not None else 0.0
        except Exception:
            return 0.0

    def stalled(self, grace: float) -> bool:
        """Open but no callback for ``grace`` seconds: the device hung without dying."""
        return self._stream is not None and time.monotonic() - self.last_callback_at > grace

    def _callback(self, data: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self.last_callback_at = time.monotonic()
        try:
            self._on_block(data, time_info, status)
        except Exception:  # a bug in our processing must not stop the stream
            self.callback_errors += 1
            if self.callback_errors <= 3:
                log.exception("%s callback failed", self.direction)
            if self.direction == "output":
                data.fill(0)

    def _finished(self) -> None:
        """PortAudio's thread: the stream ended. Ours were closed first, so this is a loss."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        stream = self._stream
        if stream is None or getattr(stream, "_azassist_closed", False):
            return
        try:
            loop.call_soon_threadsafe(self._lost, stream)
        except RuntimeError:  # loop closed meanwhile
            pass

    def _lost(self, stream: Any) -> None:
        if stream is not self._stream:
            return
        name = self.device.name if self.device else "device"
        self.close()
        self._on_lost(f"The {device_role(self.direction)} “{name}” stopped working.")

    def report_stall(self) -> None:
        """Treat a stalled stream like a lost one (called by the supervisor)."""
        if self._stream is not None:
            self._lost(self._stream)
