"""``AudioIO``: the one object the engine holds for audio (see the package docstring)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from livekit.agents.voice import TranscriptSynchronizer
from livekit.agents.voice.io import AudioInput, AudioOutput, TextOutput

from azassist.core.audio import devices
from azassist.core.audio.devices import AudioDevice, AudioDeviceError, Direction, device_role
from azassist.core.audio.files import WavFileInput, WavFileOutput
from azassist.core.audio.levels import LevelMeter, LevelPublisher, LevelsCallback, wait_for_sound
from azassist.core.audio.memory import ArrayAudioInput, CaptureAudioOutput
from azassist.core.audio.microphone import MicrophoneInput
from azassist.core.audio.processing import AudioProcessor, ProcessingOptions
from azassist.core.audio.speaker import JitterBuffer, SpeakerOutput
from azassist.core.events import EngineEvent, Error, ErrorKind, Notice
from azassist.core.settings import AudioSettings, Settings

log = logging.getLogger(__name__)

EventCallback = Callable[[EngineEvent], None]


@dataclass(frozen=True)
class AudioStats:
    """Counters for logs, benchmarks and tests."""

    input_device: str | None
    output_device: str | None
    input_rate: int
    output_rate: int
    input_overflows: int
    frames_captured: int
    frames_delivered: int
    frames_dropped: int
    input_wakeups: int
    output_underruns: int  # a segment ran dry mid-way (network jitter)
    output_device_underflows: int  # PortAudio reported an output underflow
    jitter_buffer_ms: float
    input_latency_ms: float
    output_latency_ms: float
    segments_played: int
    segments_interrupted: int


def processing_options(settings: AudioSettings) -> ProcessingOptions:
    return ProcessingOptions(
        echo_cancellation=settings.echo_cancellation,
        noise_suppression=settings.noise_suppression,
        auto_gain=settings.auto_gain,
    )


class AudioIO:
    """An input, an output and their controls. Subclasses: devices, files/memory."""

    def __init__(self, input: AudioInput, output: AudioOutput, *, input_meter: LevelMeter, output_meter: LevelMeter) -> None:
        self.input = input
        self.output = output
        self.levels = LevelPublisher(input_meter, output_meter)
        self._muted = False

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        """Muted: nothing from the microphone reaches the session (frames are dropped)."""
        self._muted = muted

    def apply(self, settings: AudioSettings | Settings) -> None:
        """Apply audio settings live (devices, echo cancellation, noise suppression, gain)."""

    def subscribe_levels(self, callback: LevelsCallback) -> Callable[[], None]:
        """``callback(Levels)`` about 30 times a second on the loop thread; returns unsubscribe."""
        return self.levels.subscribe(callback)

    def read_levels(self) -> tuple[float, float, float, float]:
        """(input rms, input peak, output rms, output peak) in dBFS since the previous read,
        for a caller that polls at its own rate. Use this or ``subscribe_levels``, not both:
        each reading consumes what was measured."""
        levels = self.levels.snapshot()
        return levels.input_rms, levels.input_peak, levels.output_rms, levels.output_peak

    async def wait_for_sound(self) -> None:
        """Return once the microphone or the speaker carries more than silence, so a poller
        of ``read_levels`` can stop polling a quiet room."""
        await wait_for_sound(self.levels.input_meter, self.levels.output_meter)

    async def aclose(self) -> None:
        await self.levels.aclose()


class DeviceAudioIO(AudioIO):
    """Microphone and speaker through sounddevice, with echo cancellation and recovery."""

    input: MicrophoneInput
    output: SpeakerOutput

    def __init__(
        self,
        settings: AudioSettings,
        *,
        on_event: EventCallback | None = None,
        strict: bool = False,
        input_rate: int | None = None,
        output_rate: int | None = None,
        retry_interval: float = 2.0,
        jitter: JitterBuffer | None = None,
    ) -> None:
        self.settings = settings
        self._on_event = on_event or (lambda event: None)
        self._strict = strict
        self._rates: dict[Direction, int | None] = {"input": input_rate, "output": output_rate}
        self._retry_interval = retry_interval
        self.processor = AudioProcessor(processing_options(settings))
        input_meter, output_meter = LevelMeter(), LevelMeter()
        speaker = SpeakerOutput(
            processor=self.processor, meter=output_meter, jitter=jitter,
            on_lost=lambda message: self._lost("output", message),
        )
        microphone = MicrophoneInput(
            processor=self.processor, meter=input_meter,
            echo_delay=lambda: speaker.output_latency,
            on_lost=lambda message: self._lost("input", message),
        )
        super().__init__(microphone, speaker, input_meter=input_meter, output_meter=output_meter)
        self._down: set[Direction] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._closed = False
        self._logged = (0, 0, 0)

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Open both devices. Problems become events (or AudioDeviceError when ``strict``)."""
        for direction in ("output", "input"):
            name = self._configured(direction)
            try:
                device = self._choose(direction, name)
                self._open(direction, device)
            except AudioDeviceError as exc:
                if self._strict:
                    self._close_devices()
                    raise
                self._fail(direction, str(exc))
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise(), name="audio-supervisor")

    async def aclose(self) -> None:
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            try:
                await self._supervisor
            except asyncio.CancelledError:
                pass
        self._close_devices()
        self.input.close()
        self.output.close()
        await super().aclose()

    def _close_devices(self) -> None:
        self.input.close_device()
        self.output.close_device()

    # --- controls -------------------------------------------------------------------------
    def set_muted(self, muted: bool) -> None:
        super().set_muted(muted)
        self.input.set_muted(muted)

    def batch_input(self, samples: int) -> None:
        """Hand the session the microphone in ``samples``-long frames (0: per device block)."""
        self.input.batch(samples)

    def apply(self, settings: AudioSettings | Settings) -> None:
        if isinstance(settings, Settings):
            settings = settings.audio
        previous, self.settings = self.settings, settings
        self.processor.configure(processing_options(settings))
        for direction in ("input", "output"):
            field = f"{direction}_device"
            if getattr(settings, field) != getattr(previous, field) or direction in self._down:
                self._reopen(direction, notify_back=False)

    def refresh_devices(self) -> list[AudioDevice]:
        """Re-enumerate devices (e.g. something was plugged in) and reopen the streams.

        PortAudio can only re-enumerate with no stream open, so both close for a moment;
        the speaker's queue is kept and keeps time on the silent clock meanwhile.
        """
        self.input.close_device()
        self.output.run_without_device()
        try:
            devices.refresh_devices()
        finally:
            for direction in ("output", "input"):
                self._reopen(direction, notify_back=False)
        return devices.list_devices()

    @property
    def stats(self) -> AudioStats:
        microphone, speaker = self.input, self.output
        return AudioStats(
            input_device=microphone.stream.device.name if microphone.stream.is_open and microphone.stream.device else None,
            output_device=speaker.stream.device.name if speaker.stream.is_open and speaker.stream.device else None,
            input_rate=microphone.stream.rate,
            output_rate=speaker.rate,
            input_overflows=microphone.overflows,
            frames_captured=microphone.frames_captured,
            frames_delivered=microphone.frames_delivered,
            frames_dropped=microphone.frames_dropped,
            input_wakeups=microphone.wakeups,
            output_underruns=speaker.underruns,
            output_device_underflows=speaker.device_underflows,
            jitter_buffer_ms=1000 * speaker.jitter.target,
            input_latency_ms=1000 * microphone.input_latency,
            output_latency_ms=1000 * speaker.output_latency,
            segments_played=speaker.segments_played,
            segments_interrupted=speaker.segments_interrupted,
        )

    # --- devices --------------------------------------------------------------------------
    def _configured(self, direction: Direction) -> str:
        return self.settings.input_device if direction == "input" else self.settings.output_device

    def _choose(self, direction: Direction, name: str) -> AudioDevice:
        if self._strict:
            return devices.require_device(name, direction)
        resolved = devices.resolve_device(name, direction)
        if resolved.notice:
            log.warning("audio: %s", resolved.notice)
            self._emit(Notice(resolved.notice, setting=f"audio.{direction}_device"))
        return resolved.device

    def _open(self, direction: Direction, device: AudioDevice) -> None:
        if direction == "input":
            self.input.open(device, rate=self._rates["input"])
        else:
            self.output.open(device, rate=self._rates["output"])
        self._down.discard(direction)

    def _reopen(self, direction: Direction, *, notify_back: bool) -> bool:
        """Open the configured device, else the default. True when audio flows again."""
        was_down = direction in self._down
        try:
            device = self._choose(direction, self._configured(direction))
            self._open(direction, device)
        except AudioDeviceError as exc:
            if not was_down:
                self._fail(direction, str(exc))
            return False
        if was_down and notify_back:
            self._emit(Notice(f"The {device_role(direction)} works again ({device.name})."))
        return True

    def _fail(self, direction: Direction, message: str) -> None:
        self._down.add(direction)
        if direction == "output":
            self.output.run_without_device()
        else:
            self.input.close_device()
        role = device_role(direction)
        self._emit(Error(
            ErrorKind.AUDIO,
            f"{message} azassist keeps trying the default {role}; the conversation goes on.",
        ))

    def _lost(self, direction: Direction, message: str) -> None:
        if self._closed:
            return
        log.warning("audio: %s", message)
        self._fail(direction, message)

    def _emit(self, event: EngineEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("audio event listener failed")

    async def _supervise(self) -> None:
        """Notice stalled streams, retry lost devices, log glitch counters."""
        loop = asyncio.get_running_loop()
        next_retry = loop.time() + self._retry_interval
        while not self._closed:
            await asyncio.sleep(min(0.5, self._retry_interval))
            for stream in (self.input.stream, self.output.stream):
                if stream.stalled(grace=2.0):
                    stream.report_stall()
            self._log_glitches()
            if not self._down or loop.time() < next_retry:
                if not self._down:
                    next_retry = loop.time() + self._retry_interval
                continue
            next_retry = loop.time() + self._retry_interval
            if self._down == {"input", "output"}:
                devices.refresh_devices()  # nothing open: safe, and finds a replugged device
            for direction in sorted(self._down):
                self._reopen(direction, notify_back=True)

    def _log_glitches(self) -> None:
        counters = (self.input.overflows, self.output.underruns, self.output.device_underflows)
        if counters != self._logged:
            log.info(
                "audio glitches: %d input overflows, %d output underruns (jitter buffer %.0f ms), "
                "%d device underflows", counters[0], counters[1], 1000 * self.output.jitter.target,
                counters[2],
            )
            self._logged = counters


async def open_device_audio(
    settings: AudioSettings,
    *,
    on_event: EventCallback | None = None,
    strict: bool = False,
    input_rate: int | None = None,
    output_rate: int | None = None,
) -> DeviceAudioIO:
    """Open the microphone and speaker named in ``settings`` (call on the running loop)."""
    audio = DeviceAudioIO(
        settings, on_event=on_event, strict=strict, input_rate=input_rate, output_rate=output_rate
    )
    await audio.start()
    return audio


class FileAudioIO(AudioIO):
    """A WAV file (or nothing) as the microphone, a WAV file (or memory) as the speaker."""

    input: ArrayAudioInput
    output: CaptureAudioOutput

    def __init__(
        self, input_path: Path | str | None = None, output_path: Path | str | None = None, *, pace: float = 1.0
    ) -> None:
        input_meter, output_meter = LevelMeter(), LevelMeter()
        source: ArrayAudioInput = (
            WavFileInput(input_path, pace=pace, meter=input_meter) if input_path else ArrayAudioInput(pace=pace)
        )
        sink: CaptureAudioOutput = (
            WavFileOutput(output_path, pace=pace, meter=output_meter) if output_path else CaptureAudioOutput(pace=pace)
        )
        super().__init__(source, sink, input_meter=input_meter, output_meter=output_meter)

    def set_muted(self, muted: bool) -> None:
        super().set_muted(muted)
        if isinstance(self.input, WavFileInput):
            self.input.muted = muted

    async def aclose(self) -> None:
        if isinstance(self.output, WavFileOutput):
            self.output.close()
        await super().aclose()


def open_file_audio(
    input_path: Path | str | None = None, output_path: Path | str | None = None, *, pace: float = 1.0
) -> FileAudioIO:
    """Files instead of devices (AudioFileError for an unreadable input file)."""
    return FileAudioIO(input_path, output_path, pace=pace)


def synchronized_outputs(audio: AudioOutput, text: TextOutput | None) -> tuple[AudioOutput, TextOutput]:
    """Wrap the sinks so assistant text streams word by word as it is heard and an
    interrupted reply keeps only what was heard. Assign the results to
    ``session.output.audio`` and ``session.output.transcription``."""
    synchronizer = TranscriptSynchronizer(next_in_chain_audio=audio, next_in_chain_text=text)
    return synchronizer.audio_output, synchronizer.text_output
