"""Audio I/O for the LiveKit session: real devices, WAV files and in-memory arrays.

Qt-free; the window, the terminal command and the tests drive it the same way. Names are
imported lazily (``from azassist.core.audio import open_device_audio``) so that importing the
package does not load LiveKit or PortAudio.

The engine's API
----------------
``audio = await open_device_audio(settings.audio, on_event=emit)`` -> ``DeviceAudioIO``
    Opens the microphone and speaker named in the settings (by *name*; "" = system default)
    on the running loop. Never raises for device trouble: a saved device that is missing
    falls back to the default with a ``Notice(setting="audio.input_device"|...)``; a device
    that cannot be opened, or dies mid-conversation, gives a non-fatal
    ``Error(kind=ErrorKind.AUDIO, ...)`` and is retried on the default every 2 s; when it
    comes back a ``Notice`` says so. While the speaker is gone its queue is consumed by a
    silent clock, so replies still end and the conversation goes on. Pass ``strict=True``
    (terminal command with an explicit device) to get ``AudioDeviceError`` instead.
``audio.input``  -> ``MicrophoneInput`` (a LiveKit ``AudioInput``: 24 kHz mono 10 ms frames,
    echo-cancelled; drops frames while detached or muted). Assign to ``session.input.audio``.
``audio.output`` -> ``SpeakerOutput`` (a LiveKit ``AudioOutput``, 24 kHz, pause capable;
    ``playback_started`` when heard, exactly one ``playback_finished`` per segment).
``synchronized_outputs(audio.output, text_sink)`` -> ``(audio_out, text_out)``
    Wraps both in LiveKit's ``TranscriptSynchronizer``: assign to ``session.output.audio``
    and ``session.output.transcription``; text then streams word by word as it is heard.
``audio.set_muted(bool)`` / ``audio.muted``
``audio.apply(settings.audio or settings)``: live: echo cancellation / noise suppression /
    auto gain (rebuilds the canceller), and switching either device by name.
``audio.subscribe_levels(callback) -> unsubscribe``: ``callback(Levels)`` ~30 Hz on the loop
    thread; or ``audio.read_levels() -> (in_rms, in_peak, out_rms, out_peak)`` (dBFS, since
    the previous read) for a caller that polls. Use one of the two, not both.
``audio.refresh_devices() -> list[AudioDevice]``: re-enumerate (something was plugged in)
    and reopen; ``list_devices("input"|"output")`` lists without touching streams.
``audio.stats -> AudioStats``: overflows, underruns, jitter buffer, latencies, counters.
``await audio.aclose()``: closes the streams and ends any outstanding playback segment.

Files and memory
----------------
``open_file_audio(input_path=None, output_path=None, *, pace=1.0) -> FileAudioIO``: a WAV as
the microphone (``pace`` 1.0 real time, 0 as fast as read; then silence) and/or a WAV that
receives what would be played; same controls (``apply`` is a no-op). Without paths it is the
lead's in-memory ``ArrayAudioInput`` / ``CaptureAudioOutput`` (``memory.py``).

Modules: ``devices`` (enumeration, choice by name, safe refresh), ``microphone``,
``speaker`` (jitter buffer, DAC-timed events), ``processing`` (WebRTC APM), ``levels``,
``streams`` (one PortAudio stream and its loss), ``files``, ``memory``, ``facade``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AudioIO": "facade",
    "AudioStats": "facade",
    "DeviceAudioIO": "facade",
    "FileAudioIO": "facade",
    "open_device_audio": "facade",
    "open_file_audio": "facade",
    "synchronized_outputs": "facade",
    "AudioDevice": "devices",
    "AudioDeviceError": "devices",
    "list_devices": "devices",
    "default_device": "devices",
    "AudioFileError": "files",
    "read_wav": "files",
    "write_wav": "files",
    "MicrophoneInput": "microphone",
    "SpeakerOutput": "speaker",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 - the lazy exports are the list


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
