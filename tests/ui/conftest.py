"""Window tests: a real Qt window on a qasync loop, the real engine, the real local server,
the suite's virtual microphone and speaker, and (where keys are stored) a real keyring.

Async tests run on a qasync loop (``pytest_asyncio_loop_factories``). They never call
``qtbot.wait*`` (a nested Qt loop re-enters running tasks): they poll with ``until``.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from PySide6.QtWidgets import QApplication

from azassist.core.credentials import CredentialStore
from azassist.core.environment import EnvironmentOffer
from azassist.core.events import ConnectionState, EngineEvent
from azassist.core.paths import AppPaths, resolve_paths
from azassist.core.secrets import Secret
from azassist.core.settings import LoadResult, Settings, SettingsStore
from azassist.simulator import LocalRealtimeServer
from azassist.ui.event_loop import AppEventLoop
from tests.support.services import reset_keyring_backend
from tests.support.waiting import until as _until

API_KEY = "ui-test-key-" + "5" * 20
DEPLOYMENT = "gpt-realtime"
TRANSCRIBER = "whisper"


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], Any]]:
    """Every async UI test runs on the window's own loop (qasync, driven by the Qt event loop)."""
    def make_loop() -> AppEventLoop:
        app = QApplication.instance() or QApplication([])
        return AppEventLoop(app)  # type: ignore[arg-type]  # instance() is typed as QCoreApplication

    return {"qasync": make_loop}


async def until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """The suite's poller with the UI's longer default (window work shares one loop)."""
    return await _until(predicate, timeout=timeout, what=what, poll=0.03)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    reset_keyring_backend()
    yield
    reset_keyring_backend()


@pytest.fixture
def paths(config_dir: Path) -> AppPaths:
    return resolve_paths(config_dir).ensure()


def settings_for(server: LocalRealtimeServer, **groups: dict[str, Any]) -> Settings:
    """Settings pointing at the local server, with transcripts on and a short silence."""
    data: dict[str, Any] = {
        "connection": {"endpoint": server.endpoint, "deployment": DEPLOYMENT, "transcription_deployment": TRANSCRIBER},
        "turn_detection": {"silence_duration_ms": 400},
    }
    for group, values in groups.items():
        data.setdefault(group, {}).update(values)
    return Settings.model_validate(data)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[LocalRealtimeServer]:
    """The local realtime server with a scripted responder, replies faster than real time."""
    async with LocalRealtimeServer(
        api_key=API_KEY, deployments=(DEPLOYMENT, TRANSCRIBER), responder="scripted", pace=3.0,
        strict_validation=True,
    ) as running:
        yield running
        assert running.violations == [], running.violations


@dataclass
class WindowHarness:
    """The window plus everything it heard from its engine, for assertions."""

    window: Any  # MainWindow
    paths: AppPaths
    events: list[EngineEvent] = field(default_factory=list)

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]

    async def connected(self, timeout: float = 20.0) -> None:
        window = self.window
        await until(
            lambda: window.connection in (ConnectionState.CONNECTED, ConnectionState.FAILED), timeout, "a connection"
        )
        assert window.connection is ConnectionState.CONNECTED, window.banner.message.text()

    def rows(self, kind: str) -> list[Any]:
        return [entry for entry in self.window.transcript.entries if entry.kind.value == kind]

    def finals(self, kind: str) -> list[str]:
        return [entry.text for entry in self.rows(kind) if entry.final]


@contextlib.asynccontextmanager
async def open_window(
    paths: AppPaths,
    settings: Settings,
    *,
    credentials: CredentialStore | None = None,
    offer: EnvironmentOffer | None = None,
    local_pace: float = 3.0,
    size: tuple[int, int] | None = (900, 680),
) -> AsyncIterator[WindowHarness]:
    """A shown MainWindow with the real engine provider (device audio on the virtual devices)."""
    from azassist.ui.main_window import MainWindow
    from azassist.ui.session import EngineProvider

    SettingsStore(paths.settings_file).save(settings)
    credentials = credentials or CredentialStore()
    provider = EngineProvider(credentials, paths.conversations_dir, local_pace=local_pace)
    window = MainWindow(
        paths, LoadResult(settings), credentials=credentials, provider=provider, offer=offer or EnvironmentOffer()
    )
    harness = WindowHarness(window, paths)
    original = window.handle_event

    def record(event: EngineEvent) -> None:
        harness.events.append(event)
        original(event)

    window.handle_event = record  # type: ignore[method-assign]
    if size is not None:
        window.resize(*size)
    window.show()
    window.activateWindow()
    try:
        yield harness
    finally:
        window.quit()
        await window.shutdown()
        window.deleteLater()
        await asyncio.sleep(0)


def memory_key(host: str = "127.0.0.1") -> CredentialStore:
    """Credentials holding the server's key for this run only (no keyring involved)."""
    store = CredentialStore()
    store.use_for_this_run(host, Secret(API_KEY))
    return store


def make_speech(directory: Path, text: str, name: str = "speech") -> Path:
    """espeak-ng speech as a 24 kHz mono 16-bit WAV, with a second of silence after it."""
    raw, wav = directory / f"{name}-raw.wav", directory / f"{name}.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True, timeout=30)
    subprocess.run(
        ["sox", str(raw), "-r", "24000", "-c", "1", "-b", "16", "-e", "signed-integer", str(wav), "pad", "0", "1"],
        check=True, capture_output=True, timeout=30,
    )
    return wav


@pytest.fixture
def speech_wav(tmp_path: Path) -> Path:
    return make_speech(tmp_path, "hello there, what is the weather like today")


@contextlib.contextmanager
def speaking_into_microphone(path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Play a WAV into the virtual microphone (the app's default input)."""
    player = subprocess.Popen(["paplay", "--device=mic", str(path)], stderr=subprocess.DEVNULL)
    try:
        yield player
    finally:
        if player.poll() is None:
            player.terminate()
        player.wait(timeout=10)


def files_containing(directory: Path, needle: str) -> list[Path]:
    """Every file under ``directory`` whose bytes contain ``needle``."""
    found = []
    for path in directory.rglob("*"):
        if path.is_file():
            with contextlib.suppress(OSError):
                if needle.encode() in path.read_bytes():
                    found.append(path)
    return found
