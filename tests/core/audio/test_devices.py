"""Devices chosen by name: listing, a saved device that is gone, a device that does not
exist, re-enumeration, and a device lost mid-conversation (the sound server kills our
streams) with automatic recovery."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import Iterator

import numpy as np
import pytest

from azassist.core.audio import devices
from azassist.core.audio.devices import AudioDeviceError
from azassist.core.audio.facade import DeviceAudioIO, open_device_audio
from azassist.core.audio.memory import int16_frame
from azassist.core.events import EngineEvent, Error, ErrorKind, Notice
from azassist.core.settings import AudioSettings
from tests.core.audio.support import RATE, MonitorRecorder, best_alignment, until

pytestmark = [pytest.mark.audio, pytest.mark.timeout(60)]


def test_devices_are_listed_with_defaults_and_host_api(virtual_audio: object) -> None:
    inputs, outputs = devices.list_devices("input"), devices.list_devices("output")
    assert inputs and outputs
    assert sum(d.is_default_input for d in inputs) == 1
    assert sum(d.is_default_output for d in outputs) == 1
    assert all(d.host_api for d in inputs + outputs)
    assert devices.find_device(inputs[0].name, "input") == inputs[0]


def test_missing_saved_device_falls_back_to_default_with_notice(virtual_audio: object) -> None:
    resolved = devices.resolve_device("USB Headset that was unplugged", "input")
    assert resolved.device == devices.default_device("input")
    assert resolved.notice and "USB Headset that was unplugged" in resolved.notice


def test_naming_a_device_that_does_not_exist_is_a_plain_error(virtual_audio: object) -> None:
    with pytest.raises(AudioDeviceError, match="There is no speaker called “Nope”"):
        devices.require_device("Nope", "output")


@pytest.mark.asyncio
async def test_opening_devices_reports_fallback_and_strict_errors(virtual_audio: object) -> None:
    events: list[EngineEvent] = []
    settings = AudioSettings(input_device="Gone Mic", output_device="Gone Speaker")
    audio = await open_device_audio(settings, on_event=events.append)
    try:
        notices = [e for e in events if isinstance(e, Notice)]
        assert {n.setting for n in notices} == {"audio.input_device", "audio.output_device"}
        assert audio.stats.input_device == devices.default_device("input").name
        assert audio.stats.output_device == devices.default_device("output").name
        assert not [e for e in events if isinstance(e, Error)]
    finally:
        await audio.aclose()

    with pytest.raises(AudioDeviceError, match="There is no speaker called “Gone Speaker”"):
        await open_device_audio(settings, strict=True)
    assert devices.open_stream_count() == 0


@pytest.mark.asyncio
async def test_a_device_portaudio_cannot_open_is_a_plain_error(virtual_audio: object) -> None:
    bogus = devices.AudioDevice("Vanished", 999, "ALSA", 1, 1, 24000.0, False, False)
    audio = DeviceAudioIO(AudioSettings())
    with pytest.raises(AudioDeviceError, match="The microphone “Vanished” could not be opened"):
        audio.input.open(bogus)
    assert devices.open_stream_count() == 0


@pytest.mark.asyncio
async def test_refresh_only_when_no_stream_is_open(virtual_audio: object) -> None:
    audio = await open_device_audio(AudioSettings())
    try:
        assert devices.refresh_devices() is False  # would crash PortAudio under live streams
        listed = audio.refresh_devices()  # closes, re-enumerates, reopens
        assert listed and audio.stats.input_device and audio.stats.output_device
    finally:
        await audio.aclose()
    assert devices.refresh_devices() is True


@pytest.fixture
def pulse_cli(virtual_audio: object) -> Iterator[None]:
    """pacmd needs the CLI module; pactl 16 cannot kill a client's stream."""
    module = subprocess.run(
        ["pactl", "load-module", "module-cli-protocol-unix"], capture_output=True, text=True, check=True
    ).stdout.strip()
    yield
    subprocess.run(["pactl", "unload-module", module], capture_output=True)


def kill_our_streams(kind: str) -> int:
    """Make the sound server drop this process's streams, as when a device disappears.
    ``kind`` is "sink-input" (speaker) or "source-output" (microphone)."""
    listing = subprocess.run(["pactl", "list", f"{kind}s"], capture_output=True, text=True, check=True).stdout
    killed = 0
    for block in re.split(r"\n(?=\S)", listing):
        number = re.search(r"#(\d+)", block)
        pid = re.search(r'application\.process\.id = "(\d+)"', block)
        if number and pid and int(pid.group(1)) == os.getpid():
            subprocess.run(["pacmd", f"kill-{kind}", number.group(1)], check=True, capture_output=True)
            killed += 1
    return killed


@pytest.mark.asyncio
async def test_lost_devices_are_reported_and_recovered(pulse_cli: None, speech: np.ndarray) -> None:
    events: list[EngineEvent] = []
    audio = DeviceAudioIO(AudioSettings(), on_event=events.append, retry_interval=0.3)
    await audio.start()
    speaker = audio.output
    try:
        # a reply is playing when the speaker dies
        for start in range(0, len(speech), 2400):
            await speaker.capture_frame(int16_frame(speech[start : start + 2400]))
        speaker.flush()
        await until(lambda: speaker.samples_played > RATE // 2, 10, "playback")
        assert kill_our_streams("sink-input") == 1
        assert kill_our_streams("source-output") == 1
        await until(lambda: len([e for e in events if isinstance(e, Error)]) == 2, 10, "loss events")
        errors = [e for e in events if isinstance(e, Error)]
        assert all(e.kind is ErrorKind.AUDIO and not e.fatal for e in errors)
        assert any("speaker" in e.message and "stopped working" in e.message for e in errors)
        assert any("microphone" in e.message for e in errors)

        # the reply still ends (silent clock), so the conversation does not hang
        finished = await asyncio.wait_for(speaker.wait_for_playout(), 10)
        assert not finished.interrupted

        # both come back on the default devices by themselves
        await until(lambda: sum(isinstance(e, Notice) for e in events) == 2, 10, "recovery notices")
        assert audio.stats.input_device and audio.stats.output_device

        # and the speaker is heard again
        recorder = MonitorRecorder()
        await until(lambda: len(recorder.samples()) > RATE // 10, 10, "the monitor recorder")
        part = speech[: RATE]
        await speaker.capture_frame(int16_frame(part))
        speaker.flush()
        await asyncio.wait_for(speaker.wait_for_playout(), 10)
        await asyncio.sleep(0.2)
        _, score = best_alignment(recorder.stop(), part)
        assert score > 0.99
    finally:
        await audio.aclose()


@pytest.mark.asyncio
async def test_settings_apply_live(virtual_audio: object) -> None:
    """Switching devices by name and toggling processing while streams run."""
    events: list[EngineEvent] = []
    audio = await open_device_audio(AudioSettings(), on_event=events.append)
    try:
        other = next(d.name for d in devices.list_devices("input") if not d.is_default_input)
        audio.apply(AudioSettings(input_device=other, output_device=other, echo_cancellation=False))
        assert audio.stats.input_device == other and audio.stats.output_device == other
        assert not audio.processor.options.echo_cancellation
        assert audio.processor.options.noise_suppression
        audio.apply(AudioSettings(input_device="Gone", output_device=other))
        assert audio.stats.input_device == devices.default_device("input").name
        assert [e.setting for e in events if isinstance(e, Notice)] == ["audio.input_device"]
        assert devices.open_stream_count() == 2
    finally:
        await audio.aclose()
    assert devices.open_stream_count() == 0
