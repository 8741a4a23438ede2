"""Sound devices as the user sees them: listed, chosen by name, refreshed, opened safely.

Devices are chosen by *name*, not PortAudio index: indexes change when something is plugged
in or after a reboot, names do not. A saved name that is no longer there falls back to the
system default with a notice instead of failing.

PortAudio enumerates devices once, at initialisation. ``refresh_devices`` re-initialises it,
which is only safe while no stream is open, so every stream azassist opens goes through
``open_stream`` and is counted.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import sounddevice

log = logging.getLogger(__name__)

Direction = Literal["input", "output"]

_streams_lock = threading.Lock()
_open_streams = 0


class AudioDeviceError(Exception):
    """A device problem in plain words (shown to the user as is)."""


def _sd() -> Any:
    """sounddevice, imported on first use: importing it initialises PortAudio."""
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library itself is missing
        raise AudioDeviceError(
            "The sound system could not be started (PortAudio is not installed)."
        ) from exc
    return sounddevice


@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device, with what a device picker needs to show."""

    name: str
    index: int
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool
    is_default_output: bool

    def supports(self, direction: Direction) -> bool:
        channels = self.max_input_channels if direction == "input" else self.max_output_channels
        return channels > 0

    def is_default(self, direction: Direction) -> bool:
        return self.is_default_input if direction == "input" else self.is_default_output


def list_devices(direction: Direction | None = None) -> list[AudioDevice]:
    """Every device PortAudio knows (as of the last initialisation), optionally one way only."""
    sd = _sd()
    host_apis = sd.query_hostapis()
    default_input, default_output = _default_indexes(sd)
    devices = []
    for info in sd.query_devices():
        device = AudioDevice(
            name=str(info["name"]),
            index=int(info["index"]),
            host_api=str(host_apis[info["hostapi"]]["name"]),
            max_input_channels=int(info["max_input_channels"]),
            max_output_channels=int(info["max_output_channels"]),
            default_samplerate=float(info["default_samplerate"]),
            is_default_input=int(info["index"]) == default_input,
            is_default_output=int(info["index"]) == default_output,
        )
        if direction is None or device.supports(direction):
            devices.append(device)
    return devices


def _default_indexes(sd: Any) -> tuple[int, int]:
    try:
        default_input, default_output = sd.default.device
    except sd.PortAudioError:
        return -1, -1
    return int(default_input), int(default_output)


def default_device(direction: Direction) -> AudioDevice | None:
    """The system's default device for this direction, or None when there is none at all."""
    for device in list_devices(direction):
        if device.is_default(direction):
            return device
    return None


@dataclass(frozen=True)
class ResolvedDevice:
    """Where a stream should open: a device, and a notice when it is not the one asked for."""

    device: AudioDevice
    notice: str | None = None


def find_device(name: str, direction: Direction) -> AudioDevice | None:
    """The device with this exact name; on ties (one device under several host APIs, as on
    Windows) the one on the default device's host API."""
    matches = [device for device in list_devices(direction) if device.name == name]
    if not matches:
        lowered = name.casefold()
        matches = [device for device in list_devices(direction) if device.name.casefold() == lowered]
    if not matches:
        return None
    default = default_device(direction)
    preferred = [device for device in matches if default and device.host_api == default.host_api]
    return (preferred or matches)[0]


def device_role(direction: Direction) -> str:
    """What the user calls a device of this direction."""
    return "microphone" if direction == "input" else "speaker"


def resolve_device(name: str, direction: Direction) -> ResolvedDevice:
    """The saved device, or the default with a notice when it is missing.

    Raises AudioDeviceError when there is no usable device at all.
    """
    if name:
        device = find_device(name, direction)
        if device is not None:
            return ResolvedDevice(device)
    default = default_device(direction)
    if default is None:
        candidates = list_devices(direction)
        if not candidates:
            raise AudioDeviceError(f"No {device_role(direction)} was found.")
        default = candidates[0]
    notice = None
    if name:
        notice = (
            f"The {device_role(direction)} “{name}” is not connected; using the default "
            f"({default.name}) instead."
        )
    return ResolvedDevice(default, notice)


def require_device(name: str, direction: Direction) -> AudioDevice:
    """The named device (or the default for ''), or AudioDeviceError in plain words."""
    if not name:
        return resolve_device("", direction).device
    device = find_device(name, direction)
    if device is None:
        raise AudioDeviceError(f"There is no {device_role(direction)} called “{name}”.")
    return device


def open_stream(
    direction: Direction, device: AudioDevice, **kwargs: Any
) -> sounddevice.InputStream | sounddevice.OutputStream:
    """Open (not start) a counted PortAudio stream; errors become AudioDeviceError.

    The count is what makes ``refresh_devices`` safe: close it with ``close_stream``.
    """
    global _open_streams
    sd = _sd()
    cls = sd.InputStream if direction == "input" else sd.OutputStream
    try:
        stream = cls(device=device.index, **kwargs)
    except (sd.PortAudioError, ValueError) as exc:
        raise AudioDeviceError(
            f"The {device_role(direction)} “{device.name}” could not be opened ({_reason(exc)})."
        ) from exc
    with _streams_lock:
        _open_streams += 1
    return stream


def close_stream(stream: Any) -> None:
    """Stop and close a stream from ``open_stream``; never raises (the device may be gone)."""
    global _open_streams
    if getattr(stream, "_azassist_closed", False):
        return
    stream._azassist_closed = True
    try:
        stream.abort(ignore_errors=True)
    except Exception:
        log.debug("aborting a stream failed", exc_info=True)
    try:
        stream.close(ignore_errors=True)
    except Exception:
        log.debug("closing a stream failed", exc_info=True)
    with _streams_lock:
        _open_streams -= 1


def open_stream_count() -> int:
    with _streams_lock:
        return _open_streams


def refresh_devices() -> bool:
    """Re-enumerate devices (PortAudio only looks at init). Returns False, changing nothing,
    while any azassist stream is open: re-initialising under a live stream crashes."""
    sd = _sd()
    with _streams_lock:
        if _open_streams:
            return False
        try:
            sd._terminate()
        finally:
            sd._initialize()
    log.info("audio devices refreshed: %d found", len(sd.query_devices()))
    return True


def _reason(exc: BaseException) -> str:
    """PortAudio's message without the error-code tuple noise."""
    args = getattr(exc, "args", ())
    text = str(args[0]) if args else str(exc)
    return text.rstrip(".") or type(exc).__name__
