"""Building engines for the window: Azure, the offline demo, the audio check, test connection.

Qt-free glue between the window and ``azassist.core``. LiveKit (one to two seconds to
import) is imported on a worker thread (``azassist.core.preload``), never on the window's, and
the simulator only for the demo and the audio check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azassist.core.credentials import CredentialStore
from azassist.core.events import (
    ConnectionState,
    EngineEvent,
    Error,
    StateChanged,
    Warning,
)
from azassist.core.secrets import Secret
from azassist.core.settings import Settings

if TYPE_CHECKING:
    from azassist.core.engine import Engine
    from azassist.simulator import LocalRealtimeServer

log = logging.getLogger(__name__)

DEMO_DEPLOYMENT = "gpt-realtime"
DEMO_TRANSCRIPTION = "gpt-4o-transcribe"
TEST_CONNECTION_TIMEOUT = 20.0


class Mode(str, Enum):
    AZURE = "azure"
    DEMO = "demo"  # the local server with its demo persona
    AUDIO_CHECK = "audio_check"  # the local server echoing the user's voice


EventSink = Callable[[EngineEvent], None]
AudioFactoryMaker = Callable[[EventSink], Callable[[Settings], Awaitable[Any]]]


def device_audio(on_event: EventSink) -> Callable[[Settings], Awaitable[Any]]:
    """The real microphone and speaker (``DeviceAudioIO`` plugs into the engine as it is).

    Device problems (a missing microphone, a lost speaker) arrive as events through
    ``on_event``, like the engine's own.
    """

    async def factory(settings: Settings) -> Any:
        from azassist.core.audio.facade import open_device_audio

        return await open_device_audio(settings.audio, on_event=on_event)

    return factory


def list_device_names(direction: str) -> list[str]:
    """Names for the device pickers (a name survives replugging; an index does not)."""
    from azassist.core.audio import devices

    return [device.name for device in devices.list_devices() if device.supports(direction)]  # type: ignore[arg-type]


def refresh_device_list() -> None:
    """Re-enumerate (PortAudio only can while no stream is open; it says if it did not)."""
    from azassist.core.audio import devices

    with contextlib.suppress(Exception):
        devices.refresh_devices()


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str


class EngineProvider:
    """Creates the engine for each mode and owns the local servers behind demo and check."""

    def __init__(
        self,
        credentials: CredentialStore,
        conversations_dir: Path | None,
        *,
        audio: AudioFactoryMaker = device_audio,
        local_pace: float = 1.0,
    ) -> None:
        self.credentials = credentials
        self.conversations_dir = conversations_dir
        self.audio = audio
        self.local_pace = local_pace
        self._servers: dict[Mode, LocalRealtimeServer] = {}
        self._local_key = secrets.token_urlsafe(24)
        self.tool_hooks: dict[str, Any] = {}  # confirm_tool, clipboard: the window's (ui/tool_confirm.py)

    async def _local_server(self, mode: Mode) -> LocalRealtimeServer:
        server = self._servers.get(mode)
        if server is None:
            from azassist.core.preload import import_off_thread

            simulator = await import_off_thread("azassist.simulator.server")
            server = simulator.LocalRealtimeServer(
                api_key=self._local_key,
                deployments=(DEMO_DEPLOYMENT, DEMO_TRANSCRIPTION),
                responder="demo" if mode is Mode.DEMO else "echo",
                pace=self.local_pace,
            )
            await server.start()
            self._servers[mode] = server
        return server

    def local_endpoint(self, mode: Mode) -> str | None:
        server = self._servers.get(mode)
        return server.endpoint if server is not None else None

    async def effective_settings(self, mode: Mode, settings: Settings) -> Settings:
        """The user's settings, pointed at the local server for the demo and the check."""
        if mode is Mode.AZURE:
            return settings
        server = await self._local_server(mode)
        data = settings.model_dump(mode="json")
        data["connection"].update(
            endpoint=server.endpoint,
            deployment=DEMO_DEPLOYMENT,
            auth_mode="api_key",
            api_version="",
            transcription_deployment=DEMO_TRANSCRIPTION,
            tts_deployment="",
        )
        data["model"]["modalities"] = "audio"
        if mode is Mode.AUDIO_CHECK:
            data["turn_detection"]["mode"] = "server_vad"  # the echo answers each spoken turn
            # no tools: the check plays your voice back, and must not start the MCP servers
            data["tools"] = {"clock": False, "timers": False, "clipboard": False, "open_url": False}
        return Settings.model_validate(data)

    async def create(self, mode: Mode, settings: Settings, on_audio_event: EventSink) -> Engine:
        from azassist.core.preload import load_engine

        # the local server starts (demo, check) while the engine still imports on its thread
        loading = asyncio.ensure_future(load_engine())
        try:
            effective = await self.effective_settings(mode, settings)
        except BaseException:
            loading.cancel()  # only this wait: the import itself goes on
            raise
        engine = await loading
        keys: Any = self.credentials if mode is Mode.AZURE else engine.MemoryKeySource(Secret(self._local_key))
        return engine.Engine(
            effective,
            keys=keys,
            token_provider=_entra_provider(effective),
            audio=self.audio(on_audio_event),
            conversations_dir=self.conversations_dir if mode is not Mode.AUDIO_CHECK else None,
            **self.tool_hooks,
        )

    async def test_connection(
        self, settings: Settings, key: Secret | None = None, *, timeout: float = TEST_CONNECTION_TIMEOUT
    ) -> TestResult:
        """Connect without audio, report success or the engine's own words, disconnect."""
        from azassist.core.preload import load_engine

        package = await load_engine()
        keys: Any = package.MemoryKeySource(key) if key else self.credentials
        engine = package.Engine(settings, keys=keys, token_provider=_entra_provider(settings), audio=package.no_audio,
                                conversations_dir=None)
        outcome: asyncio.Future[TestResult] = asyncio.get_running_loop().create_future()

        def on_event(event: EngineEvent) -> None:
            if outcome.done():
                return
            if isinstance(event, StateChanged) and event.connection is ConnectionState.CONNECTED:
                connection = settings.connection
                outcome.set_result(TestResult(True, f"Connected to {connection.deployment} at {connection.host}."))
            elif isinstance(event, Error) and event.fatal:
                outcome.set_result(TestResult(False, event.message))
            elif isinstance(event, Warning):
                # The first failed attempt says it all; the test need not wait out the retries.
                outcome.set_result(TestResult(False, event.message.removesuffix(" Trying again…").strip()))

        engine.subscribe(on_event)
        try:
            await engine.connect()
            return await asyncio.wait_for(asyncio.shield(outcome), timeout)
        except TimeoutError:
            return TestResult(False, f"No answer from {settings.connection.host} within {timeout:.0f} seconds.")
        finally:
            await engine.aclose()

    async def aclose(self) -> None:
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            with contextlib.suppress(Exception):
                await server.stop()

    async def stop_local(self, mode: Mode) -> None:
        server = self._servers.pop(mode, None)
        if server is not None:
            await server.stop()


def _entra_provider(settings: Settings) -> Any:
    """The process's Entra ID sign-in for these settings (shared with Settings › Connection's
    Sign in button), or None with an API key; azure-identity loads only in Entra mode."""
    from azassist.core.settings import AuthMode

    if settings.connection.auth_mode is not AuthMode.ENTRA_ID:
        return None
    from azassist.core.entra import shared_provider

    return shared_provider(settings.connection)
