"""``azassist selftest`` (also ``azassist --selftest``): prove this installation works.

Frozen or from source, it checks every part the app needs on this machine, prints a report
and exits 0 only when every check passed. Each check is a small function returning a
:class:`CheckResult` (OK / FAILED / SKIPPED + one line of detail), so a failure names the part
that broke. Checks:

  imports        every azassist module and the libraries it is built on
  livekit-ffi    LiveKit's native library loads and processes audio
  tls            a CA bundle that TLS to Azure can verify against
  qt             a Qt application starts; xcb/wayland platform plugins load; the app icon
  speech         espeak-ng (the offline voice) speaks
  keyring        a set/get/delete round trip under a throwaway service name (skipped,
                 with the reason, when the machine has no keyring at all)
  audio-devices  default microphone and speaker exist
  microphone     the microphone delivers audio
  speaker        the speaker plays audio to the end
  conversation   a spoken turn with the in-process local server (echo responder) through
                 the real engine: speech in, the echo back out, both transcripts on disk

``--no-audio-devices`` skips the three device checks (reported SKIPPED, never OK); the
conversation then plays into memory and the echo is compared with what was said.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import pkgutil
import platform
import secrets
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from azassist import __version__
from azassist.core.paths import AppPaths

SAMPLE_RATE = 24_000
SPOKEN_TEXT = "Testing, one two three."
DEPLOYMENT = "gpt-realtime"
TRANSCRIPTION_DEPLOYMENT = (
    "gpt-4o-transcribe"  # any name: the local server transcribes every one
)
THIRD_PARTY_MODULES = (
    "livekit.rtc",
    "livekit.agents",
    "livekit.plugins.openai",
    "openai",
    "pydantic",
    "aiohttp",
    "numpy",
    "sounddevice",
    "keyring",
    "platformdirs",
    "qasync",
    "espeakng_loader",
    "PySide6.QtCore",
    "PySide6.QtGui",
    "PySide6.QtWidgets",
    "PySide6.QtSvg",
)
# Qt platform plugins a Linux desktop needs: X11 (and XWayland), Wayland, and offscreen.
LINUX_PLATFORM_PLUGINS = ("libqxcb.so", "libqwayland.so", "libqoffscreen.so")


class Status(str, Enum):
    OK = "OK"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    seconds: float = 0.0


def ok(detail: str) -> tuple[Status, str]:
    return Status.OK, detail


def failed(detail: str) -> tuple[Status, str]:
    return Status.FAILED, detail


def skipped(detail: str) -> tuple[Status, str]:
    return Status.SKIPPED, detail


Outcome = tuple[Status, str]


@dataclass
class Context:
    """What checks share: options, and the devices the device checks opened for the
    conversation (so the conversation plays on the speaker that was just tested)."""

    use_devices: bool
    work_dir: Path
    devices: Any = None  # azassist.core.audio.facade.DeviceAudioIO once opened
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- checks


def check_imports(context: Context) -> Outcome:
    """Every module of the app imports: catches anything a bundle left out."""
    import azassist

    names = [
        info.name for info in pkgutil.walk_packages(azassist.__path__, "azassist.")
    ]
    names += list(THIRD_PARTY_MODULES)
    broken = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            broken.append(f"{name} ({type(exc).__name__}: {exc})")
    if broken:
        return failed(
            f"{len(broken)} of {len(names)} modules fail: " + "; ".join(broken[:5])
        )
    return ok(f"{len(names)} modules")


def check_livekit_ffi(context: Context) -> Outcome:
    """LiveKit's native FFI library: loaded by path at run time, so easy to lose in a bundle."""
    import numpy as np
    from livekit import rtc

    resampler = rtc.AudioResampler(
        input_rate=48_000, output_rate=SAMPLE_RATE, num_channels=1
    )
    tone = (np.sin(np.arange(4_800) * 2 * np.pi * 440 / 48_000) * 8_000).astype(
        np.int16
    )
    frame = rtc.AudioFrame(
        data=tone.tobytes(),
        sample_rate=48_000,
        num_channels=1,
        samples_per_channel=len(tone),
    )
    frames = list(resampler.push(frame)) + list(resampler.flush())
    produced = sum(f.samples_per_channel for f in frames)
    if not 2_000 <= produced <= 2_600:
        return failed(f"resampling 100 ms gave {produced} samples")
    library = os.environ.get("LIVEKIT_LIB_PATH") or _livekit_library_path()
    return ok(f"resampled 48 kHz -> 24 kHz with {library}")


def _livekit_library_path() -> str:
    import importlib.resources

    for name in ("liblivekit_ffi.so", "liblivekit_ffi.dylib", "livekit_ffi.dll"):
        candidate = importlib.resources.files("livekit.rtc.resources") / name
        if candidate.is_file():
            return str(candidate)
    return "(library path unknown)"


def check_tls(context: Context) -> Outcome:
    """Azure is reached over TLS: some CA certificates must be trusted, or nothing connects."""
    import ssl

    source = os.environ.get("AZASSIST_TLS_TRUST") or (
        "SSL_CERT_FILE" if os.environ.get("SSL_CERT_FILE") else "OpenSSL defaults"
    )
    bundle = os.environ.get("SSL_CERT_FILE")
    if bundle:
        if not Path(bundle).is_file():
            return failed(f"SSL_CERT_FILE={bundle} does not exist")
        context_ = ssl.create_default_context(cafile=bundle)
        count = context_.cert_store_stats()["x509_ca"]
        where = bundle
    else:
        context_ = ssl.create_default_context()
        count = context_.cert_store_stats()["x509_ca"]
        defaults = ssl.get_default_verify_paths()
        where = defaults.cafile or defaults.capath or "(none)"
        if count == 0 and defaults.capath and Path(defaults.capath).is_dir():
            count = sum(
                1
                for p in Path(defaults.capath).iterdir()
                if p.name.endswith((".0", ".pem", ".crt"))
            )
    if count == 0 and not sys.platform.startswith("win"):  # Windows reads its own store
        return failed(
            f"no CA certificates found (looked in {where}); TLS to Azure would fail"
        )
    return ok(f"{count} CA certificates from {where} ({source})")


def check_qt(context: Context) -> Outcome:
    """Qt runs in a child process: a platform plugin that cannot start aborts the process,
    which must not take the rest of the report with it."""
    command = [*_own_command(), "selftest", "--probe", "qt"]
    env = dict(os.environ)
    chosen = env.get("QT_QPA_PLATFORM")
    if (
        not chosen
        and sys.platform.startswith("linux")
        and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    ):
        env["QT_QPA_PLATFORM"] = chosen = (
            "offscreen"  # no display: check everything but the screen
        )
    try:
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        return failed("the Qt probe did not finish in 60 s")
    last = result.stdout.strip().splitlines()[-1:] or [""]
    try:
        probe = json.loads(last[0])
    except json.JSONDecodeError:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-3:]
        return failed(f"the Qt probe exited {result.returncode}: " + " | ".join(tail))
    if probe.get("problems"):
        return failed("; ".join(probe["problems"]))
    return ok(
        f"platform {probe['platform']}, window shown, plugins {', '.join(probe['plugins_loaded'])} load, app icon drawn"
    )


def qt_probe() -> int:
    """Runs inside the child process of :func:`check_qt`; prints one JSON line."""
    import ctypes

    from PySide6.QtCore import QLibraryInfo
    from PySide6.QtWidgets import QApplication, QLabel

    problems: list[str] = []
    app = QApplication([sys.argv[0]])
    plugin_dir = (
        Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    )
    loaded = []
    if sys.platform.startswith("linux"):
        for name in LINUX_PLATFORM_PLUGINS:
            path = plugin_dir / name
            if not path.is_file():
                problems.append(
                    f"Qt platform plugin {name} is missing from {plugin_dir}"
                )
                continue
            try:
                ctypes.CDLL(
                    str(path)
                )  # resolves its system libraries (xcb-cursor, wayland...)
                loaded.append(name.removeprefix("libq").removesuffix(".so"))
            except OSError as exc:
                problems.append(f"Qt platform plugin {name} cannot load: {exc}")
    from azassist.ui.resources import app_icon

    icon = app_icon()
    if icon.isNull() or icon.pixmap(64, 64).isNull():
        problems.append("the app icon could not be drawn (resources/icons missing?)")
    label = QLabel("azassist")
    label.setWindowIcon(icon)
    if label.grab().isNull():
        problems.append("a widget could not be rendered")
    label.show()  # on X11/Wayland the display server must map it (a real round trip)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (
        label.windowHandle() and label.windowHandle().isExposed()
    ):
        app.processEvents()
        time.sleep(0.01)
    if not (label.windowHandle() and label.windowHandle().isExposed()):
        problems.append(
            f"a window shown on {app.platformName()} was never exposed by the display server"
        )
    label.close()
    print(
        json.dumps(
            {
                "platform": app.platformName(),
                "plugins_loaded": loaded,
                "problems": problems,
            }
        )
    )
    return 0


def check_speech(context: Context) -> Outcome:
    """espeak-ng, the offline demo's voice: a native library plus data files."""
    from azassist.simulator.speech import SpeechUnavailableError, synthesize

    try:
        samples = synthesize(SPOKEN_TEXT, SAMPLE_RATE)
    except SpeechUnavailableError as exc:
        return failed(str(exc))
    seconds = len(samples) / SAMPLE_RATE
    if seconds < 1.0 or int(abs(samples).max()) < 1_000:
        return failed(f"espeak-ng produced {seconds:.2f} s of near-silence")
    return ok(f"{seconds:.1f} s of speech")


def check_keyring(context: Context) -> Outcome:
    """A real round trip in a throwaway service, deleted afterwards; the user's keys untouched."""
    from azassist.core.credentials import CredentialError, CredentialStore
    from azassist.core.secrets import Secret

    store = CredentialStore(service=f"azassist-selftest-{secrets.token_hex(4)}")
    backend = store.backend_name()
    if backend == "none available":
        return skipped(
            "no system keyring on this machine (the app keeps keys for one run only)"
        )
    host = "selftest.invalid"
    value = Secret(secrets.token_urlsafe(18))
    try:
        store.set_api_key(host, value)
        read_back = store.get_api_key(host)
        store.delete_api_key(host)
        after_delete = store.get_api_key(host)
    except CredentialError as exc:
        with contextlib.suppress(CredentialError):
            store.delete_api_key(host)
        return failed(f"{backend}: {exc.message} ({exc.detail})")
    if read_back != value:
        return failed(f"{backend}: the value read back differs from the one stored")
    if after_delete is not None:
        return failed(f"{backend}: the entry is still there after deleting it")
    return ok(f"set, read and deleted an entry in {backend}")


def check_audio_devices(context: Context) -> Outcome:
    from azassist.core.audio import devices

    try:
        listed = devices.list_devices()
        microphone = devices.default_device("input")
        speaker = devices.default_device("output")
    except devices.AudioDeviceError as exc:
        return failed(str(exc))
    missing = [
        role
        for role, found in (("microphone", microphone), ("speaker", speaker))
        if found is None
    ]
    if missing:
        return failed(f"{len(listed)} devices, but no default {' or '.join(missing)}")
    assert microphone is not None and speaker is not None
    return ok(
        f"{len(listed)} devices; microphone {microphone.name!r}, speaker {speaker.name!r}"
    )


async def _open_devices(context: Context) -> Any:
    """The default microphone and speaker through the app's own device seam, opened once
    for the device checks and the conversation (raises AudioDeviceError)."""
    if context.devices is None:
        from azassist.core.audio.facade import DeviceAudioIO
        from azassist.core.settings import Settings

        device_io = DeviceAudioIO(Settings().audio, strict=True)
        try:
            await device_io.start()
        except Exception:
            await device_io.aclose()
            raise
        context.devices = device_io
    return context.devices


async def check_microphone(context: Context) -> Outcome:
    from azassist.core.audio.devices import AudioDeviceError

    try:
        device_io = await _open_devices(context)
    except AudioDeviceError as exc:
        return failed(str(exc))
    microphone = device_io.input
    frames = 0
    deadline = time.monotonic() + 3.0
    while frames < 20 and time.monotonic() < deadline:  # 20 frames: 200 ms of sound
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(
                microphone.__anext__(), timeout=max(0.05, deadline - time.monotonic())
            )
            frames += 1
    stats = device_io.stats
    if frames < 20:
        return failed(f"only {frames} frames from {stats.input_device!r} in 3 s")
    return ok(
        f"{frames * 10} ms captured from {stats.input_device!r} at {stats.input_rate} Hz"
    )


async def check_speaker(context: Context) -> Outcome:
    import numpy as np

    from azassist.core.audio.devices import AudioDeviceError
    from azassist.core.audio.memory import int16_frame

    try:
        speaker = (await _open_devices(context)).output
    except AudioDeviceError as exc:
        return failed(str(exc))
    before = speaker.samples_played
    seconds = 0.3
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = (np.sin(2 * np.pi * 660 * t) * 3_000).astype(np.int16)
    await speaker.capture_frame(int16_frame(tone))
    speaker.flush()
    try:
        finished = await asyncio.wait_for(speaker.wait_for_playout(), timeout=5.0)
    except TimeoutError:
        return failed("a 0.3 s tone did not finish playing within 5 s")
    played = (speaker.samples_played - before) / speaker.rate
    if finished.interrupted or played < seconds * 0.9:
        return failed(f"the tone stopped after {played:.2f} s")
    return ok(
        f"played a {seconds:.1f} s tone on {context.devices.stats.output_device!r}"
    )


async def check_conversation(context: Context) -> Outcome:
    """The engine, LiveKit and the realtime protocol end to end, offline: speak, hear the echo."""

    from azassist.core.audio.memory import ArrayAudioInput, CaptureAudioOutput
    from azassist.core.engine import AudioPair, Engine, MemoryKeySource
    from azassist.core.events import (
        AssistantText,
        ConnectionState,
        Error,
        StateChanged,
        UserTranscript,
    )
    from azassist.core.secrets import Secret
    from azassist.core.settings import Settings
    from azassist.core.transcript import read_conversation
    from azassist.simulator import LocalRealtimeServer
    from azassist.simulator.speech import synthesize

    speech = synthesize(SPOKEN_TEXT, SAMPLE_RATE)
    key = secrets.token_urlsafe(24)
    microphone = ArrayAudioInput(
        pace=0
    )  # speech fed as the microphone: a real one cannot be spoken into
    speaker = (
        (await _open_devices(context)).output
        if context.use_devices
        else CaptureAudioOutput(pace=0)
    )
    played_before = getattr(speaker, "samples_played", 0)
    connected = asyncio.Event()
    answered = asyncio.Event()
    user_lines: list[str] = []
    assistant_lines: list[str] = []
    errors: list[str] = []

    def on_event(event: Any) -> None:
        if (
            isinstance(event, StateChanged)
            and event.connection is ConnectionState.CONNECTED
        ):
            connected.set()
        elif isinstance(event, UserTranscript) and event.final:
            user_lines.append(event.text)
        elif isinstance(event, AssistantText) and event.final:
            assistant_lines.append(event.text)
            answered.set()
        elif isinstance(event, Error):
            errors.append(event.message)
            if event.fatal:
                connected.set()
                answered.set()

    async with LocalRealtimeServer(
        api_key=key, deployments=(DEPLOYMENT,), responder="echo", pace=0
    ) as server:
        settings = Settings.model_validate(
            {
                "connection": {
                    "endpoint": server.endpoint,
                    "deployment": DEPLOYMENT,
                    "api_version": "",
                    "transcription_deployment": TRANSCRIPTION_DEPLOYMENT,
                }
            }
        )
        engine = Engine(
            settings,
            keys=MemoryKeySource(Secret(key)),
            audio=lambda _settings: AudioPair(input=microphone, output=speaker),
            conversations_dir=context.work_dir / "conversations",
        )
        engine.subscribe(on_event)
        try:
            await engine.connect()
            await asyncio.wait_for(connected.wait(), timeout=15)
            if errors:
                return failed(f"could not connect to the local server: {errors[0]}")
            microphone.feed(speech)
            await asyncio.wait_for(answered.wait(), timeout=30)
            transcript_file = engine.conversation_path
        except TimeoutError:
            return failed(
                f"no reply within the time limit (errors: {errors or 'none'})"
            )
        finally:
            await engine.aclose()
    if errors or not assistant_lines:
        return failed(f"the conversation failed: {errors or 'no reply'}")
    if not user_lines:
        return failed("the reply came but no transcript of what was said")
    reply = assistant_lines[0]
    if "heard" not in reply:
        return failed(f"unexpected reply {reply!r}")
    if transcript_file is None or not transcript_file.is_file():
        return failed("no conversation file was written")
    saved = read_conversation(transcript_file)
    roles = [turn.role for turn in saved.turns] if hasattr(saved, "turns") else []
    if roles and not {"user", "assistant"} <= set(roles):
        return failed(f"the conversation file holds {roles}, not both sides")
    said = len(speech) / SAMPLE_RATE
    if isinstance(speaker, CaptureAudioOutput):
        match = _best_match(speaker.heard, speech)
        if match < 0.9:
            return failed(
                f"the echo does not match what was said (similarity {match:.2f})"
            )
        how = f"echo matches the speech (similarity {match:.2f})"
    else:
        played = (speaker.samples_played - played_before) / speaker.rate
        if played < said:
            return failed(
                f"only {played:.1f} s of the reply reached the speaker; {said:.1f} s were said"
            )
        how = f"{played:.1f} s of reply played on the speaker"
    return ok(
        f"said {said:.1f} s, transcript {user_lines[0]!r}, reply {reply!r}; {how}"
    )


def _best_match(haystack: Any, needle: Any) -> float:
    """Highest normalised cross-correlation of ``needle`` inside ``haystack`` (1.0 = identical)."""
    import numpy as np

    h = np.asarray(haystack, dtype=np.float64)
    n = np.asarray(needle, dtype=np.float64)
    if len(h) < len(n) or not n.any():
        return 0.0
    size = 1 << (len(h) + len(n) - 1).bit_length()
    correlation = np.fft.irfft(np.fft.rfft(h, size) * np.fft.rfft(n[::-1], size), size)[
        len(n) - 1 : len(h)
    ]
    energy = np.cumsum(np.concatenate(([0.0], h * h)))
    window = np.sqrt(np.maximum(energy[len(n) :] - energy[: len(h) - len(n) + 1], 1e-9))
    return float(np.max(correlation / (window * np.linalg.norm(n))))


# --------------------------------------------------------------------------- running


Check = Callable[[Context], "Outcome | Awaitable[Outcome]"]
DEVICE_CHECKS = ("audio-devices", "microphone", "speaker")
CHECKS: dict[str, Check] = {
    "imports": check_imports,
    "livekit-ffi": check_livekit_ffi,
    "tls": check_tls,
    "qt": check_qt,
    "speech": check_speech,
    "keyring": check_keyring,
    "audio-devices": check_audio_devices,
    "microphone": check_microphone,
    "speaker": check_speaker,
    "conversation": check_conversation,
}
TIMEOUTS = {"conversation": 60.0, "qt": 70.0}


async def run_checks(context: Context, names: list[str]) -> list[CheckResult]:
    results = []
    for name in names:
        started = time.monotonic()
        if name in DEVICE_CHECKS and not context.use_devices:
            status, detail = skipped("--no-audio-devices was given")
        else:
            try:
                outcome = CHECKS[name](context)
                if asyncio.iscoroutine(outcome):
                    outcome = await asyncio.wait_for(
                        outcome, timeout=TIMEOUTS.get(name, 20.0)
                    )
                status, detail = outcome  # type: ignore[misc]
            except TimeoutError:
                status, detail = failed("timed out")
            except Exception as exc:
                status, detail = failed(f"{type(exc).__name__}: {exc}")
                context.notes.append(
                    f"{name}: " + "".join(traceback.format_exception(exc))
                )
        results.append(
            CheckResult(name, status, detail, round(time.monotonic() - started, 2))
        )
    if context.devices is not None:
        with contextlib.suppress(Exception):
            await context.devices.aclose()
    return results


def _own_command() -> list[str]:
    """How to start this same azassist again (the frozen executable, or Python on the source)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "azassist"]


def describe_installation() -> dict[str, str]:
    return {
        "version": __version__,
        "kind": "bundle" if getattr(sys, "frozen", False) else "source",
        "executable": sys.executable,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()} ({platform.machine()})",
    }


def render(installation: dict[str, str], results: list[CheckResult]) -> str:
    lines = [
        f"azassist {installation['version']} self-test ({installation['kind']}: {installation['executable']})",
        f"Python {installation['python']} on {installation['system']}",
        "",
    ]
    width = max(len(r.name) for r in results)
    for result in results:
        lines.append(
            f"  {result.name:<{width}}  {result.status.value:<7}  {result.detail}  [{result.seconds:.1f} s]"
        )
    failures = sum(r.status is Status.FAILED for r in results)
    skips = sum(r.status is Status.SKIPPED for r in results)
    lines += [
        "",
        f"{len(results) - failures - skips} ok, {failures} failed, {skips} skipped",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azassist selftest", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--no-audio-devices",
        action="store_true",
        help="skip the microphone/speaker checks (reported as SKIPPED)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(CHECKS),
        metavar="CHECK",
        help=f"run only this check (repeatable): {', '.join(CHECKS)}",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--probe", choices=["qt"], help=argparse.SUPPRESS)
    return parser


def main(argv: list[str], paths: AppPaths) -> int:
    options = build_parser().parse_args(argv)
    if options.probe == "qt":
        return qt_probe()
    names = options.only or list(CHECKS)
    with tempfile.TemporaryDirectory(prefix="azassist-selftest-") as work:
        context = Context(use_devices=not options.no_audio_devices, work_dir=Path(work))
        results = asyncio.run(run_checks(context, names))
    installation = describe_installation()
    if options.json:
        print(
            json.dumps(
                {
                    "installation": installation,
                    "checks": [
                        {**asdict(r), "status": r.status.value} for r in results
                    ],
                },
                indent=2,
            )
        )
    else:
        print(render(installation, results))
    for note in context.notes:
        print(note, file=sys.stderr)
    return 1 if any(r.status is Status.FAILED for r in results) else 0
