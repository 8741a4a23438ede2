"""The azassist window as ``run_gui`` builds it (QApplication, theme, qasync loop, MainWindow with
the real engine provider and device audio), driven for a benchmark; prints one JSON line.

    --mode lag     event-loop lag while the window sits idle, then while a long reply streams
                   with the live transcript rendering (figure 4)
    --mode listen  connect hands-free and sit listening (figure 6 samples this process)

The key for the local server comes from AZURE_OPENAI_API_KEY and is kept in memory only
(``CredentialStore.use_for_this_run``), as the window does for an unsaved key.

Lag is measured with a chain of single-shot precise Qt timers: each is due 10 ms after the
previous one fired, and its lateness is the time the event loop (Qt and the asyncio callbacks
qasync runs inside it) could not react.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from typing import Any

INTERVAL_S = 0.010


class LagMonitor:
    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.lags: list[float] = []
        self.recording = False
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._fired)
        self._due = 0.0

    def start(self) -> None:
        self._due = time.monotonic() + INTERVAL_S
        self._timer.start(int(INTERVAL_S * 1000))

    def _fired(self) -> None:
        now = time.monotonic()
        if self.recording:
            self.lags.append(max(0.0, now - self._due))
        self._due = now + INTERVAL_S
        self._timer.start(int(INTERVAL_S * 1000))

    def take(self) -> list[float]:
        lags, self.lags = self.lags, []
        return lags


async def until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from azassist.core.credentials import CredentialStore
    from azassist.core.environment import EnvironmentOffer
    from azassist.core.events import AssistantText, ConnectionState
    from azassist.core.paths import resolve_paths
    from azassist.core.secrets import Secret
    from azassist.core.settings import LoadResult, Settings, SettingsStore
    from azassist.ui.main_window import MainWindow
    from azassist.ui.session import EngineProvider

    paths = resolve_paths(tempfile.mkdtemp(prefix="azassist-bench-window-")).ensure()
    settings = Settings.model_validate(
        {"connection": {"endpoint": args.endpoint, "deployment": args.deployment}}
    )
    SettingsStore(paths.settings_file).save(settings)
    credentials = CredentialStore()
    credentials.use_for_this_run(settings.connection.host, Secret(os.environ["AZURE_OPENAI_API_KEY"]))
    provider = EngineProvider(credentials, paths.conversations_dir)
    window = MainWindow(paths, LoadResult(settings), credentials=credentials, provider=provider,
                        offer=EnvironmentOffer())
    replies: list[AssistantText] = []
    original = window.handle_event

    def record(event: Any) -> None:
        if isinstance(event, AssistantText):
            replies.append(event)
        original(event)

    window.handle_event = record  # type: ignore[method-assign]
    window.show()
    monitor = LagMonitor()
    if args.mode == "lag":  # listening must not pay for the monitor's 100 wake-ups a second
        monitor.start()
    result: dict[str, Any] = {}
    try:
        await asyncio.sleep(3.0)  # first paint and the deferred engine import are start-up, not idle
        if args.mode == "lag":
            monitor.recording = True
            await asyncio.sleep(args.idle_seconds)
            monitor.recording = False
            result["idle"] = monitor.take()
        window.connect_engine()
        await until(lambda: window.connection in (ConnectionState.CONNECTED, ConnectionState.FAILED), 60, "connect")
        if window.connection is not ConnectionState.CONNECTED:
            raise RuntimeError("the window could not connect to the local server")
        print(json.dumps({"connected": time.monotonic()}), flush=True)
        if args.mode == "listen":
            await asyncio.sleep(args.seconds)
            result["listened"] = args.seconds
            return result
        window.send_text("Tell me a long story.")
        await until(lambda: any(r.text for r in replies), 60, "the reply to start")
        started = time.monotonic()
        monitor.recording = True
        await until(lambda: any(r.final for r in replies) or time.monotonic() - started > args.seconds + 30,
                    args.seconds + 60, "the reply to end")
        monitor.recording = False
        result["reply"] = monitor.take()
        result["reply_seconds"] = time.monotonic() - started
        result["assistant_updates"] = len(replies)
        result["transcript_chars"] = len(window.transcript.plain_text())
        return result
    finally:
        window.quit()
        await window.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("lag", "listen"), required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--deployment", default="gpt-realtime")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    args = parser.parse_args()

    from azassist.core.settings import Settings
    from azassist.ui.app import create_application
    from azassist.ui.event_loop import AppEventLoop
    from azassist.ui.theme import apply_theme

    app = create_application()
    apply_theme(app, Settings().ui.theme)
    with asyncio.Runner(loop_factory=lambda: AppEventLoop(app)) as runner:
        result = runner.run(run(args))
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown (Qt objects, PortAudio): the numbers are out


if __name__ == "__main__":
    sys.exit(main())
