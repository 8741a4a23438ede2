"""Screenshots of the real window on a real X server (Xvfb), light and dark, and the settings
dialog. One process cannot switch Qt platform, so they are taken in a child process with
QT_QPA_PLATFORM=xcb.

A test run writes them to its own temporary folder and leaves the checkout alone. To refresh
the README's tracked copies in resources/screenshots/ on purpose, run ``make screenshots``
(which sets ``AZASSIST_UPDATE_SCREENSHOTS=1`` for this file)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

REPO = Path(__file__).resolve().parents[2]
TRACKED_SHOTS = REPO / "resources" / "screenshots"


def screenshot_folder(tmp_path: Path) -> Path:
    """resources/screenshots/ when asked to refresh them (make screenshots), else a temporary one."""
    if os.environ.get("AZASSIST_UPDATE_SCREENSHOTS") == "1":
        return TRACKED_SHOTS
    return tmp_path / "screenshots"

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from PySide6.QtWidgets import QApplication
    from azassist.core.environment import EnvironmentOffer
    from azassist.core.events import (Activity, AssistantText, ConnectionState, Levels, Notice,
                                      StateChanged, TurnLatency, Usage, UserTranscript)
    from azassist.core.paths import resolve_paths
    from azassist.core.settings import LoadResult, Settings, Theme
    from azassist.ui.app import create_application
    from azassist.ui.main_window import MainWindow
    from azassist.ui.theme import apply_theme

    out, profile = Path(sys.argv[1]), Path(sys.argv[2])
    app = create_application()
    app.setCursorFlashTime(0)  # a steady caret: the same pictures every run
    settings = Settings.model_validate({"connection": {
        "endpoint": "https://contoso-voice.openai.azure.com", "deployment": "gpt-realtime",
        "transcription_deployment": "gpt-4o-transcribe"}})

    def settle():  # let fades (the line edits' clear buttons) finish: stable pictures
        for _ in range(30):
            app.processEvents()
            time.sleep(0.02)

    def conversation(window):
        t = time.mktime((2026, 3, 14, 9, 41, 0, 0, 0, -1))  # fixed: the same pictures every run
        events = [
            StateChanged(ConnectionState.CONNECTED, Activity.LISTENING),
            UserTranscript("u1", "What's a good name for a sailing boat?", True, at=t),
            AssistantText("a1", "How about Sea Breeze, Wanderlust or Salt & Light? Short names are easy to call over the wind.", True, at=t + 2),
            UserTranscript("u2", "Tell me the history of sailing, from the very beginning", True, at=t + 20),
            AssistantText("a2", "People have sailed for at least seven thousand years: the earliest pictures of sails come from", True, True, at=t + 22),
            UserTranscript("u3", "Actually, what's the weather like for sailing tomorrow?", True, at=t + 30),
            AssistantText("a3", "It will be mostly sunny with a light chop in the morning.", True, at=t + 32),
            Notice("Voice changes when you reconnect. Reconnect to apply it now; the conversation is kept.", at=t + 40),
            UserTranscript("u4", "And the wind?", True, at=t + 60),
            AssistantText("a4", "Tomorrow looks like a steady breeze from the west, around twelve knots", False, at=t + 62),
            TurnLatency("a4", 0.64, "speech"),
            Usage("a4", 310, 95, 2140, 812),
            Levels(-60.0, -55.0, -14.0, -6.0),
            StateChanged(ConnectionState.CONNECTED, Activity.ASSISTANT_SPEAKING),
        ]
        for event in events:
            window.handle_event(event)

    for theme in (Theme.LIGHT, Theme.DARK):
        apply_theme(app, theme)
        paths = resolve_paths(profile / theme.value).ensure()
        window = MainWindow(paths, LoadResult(settings), offer=EnvironmentOffer())
        window.resize(1000, 720)
        window.show()
        conversation(window)
        settle()
        window.grab().save(str(out / f"main-{theme.value}.png"))
        dialog = window.open_settings("turn_detection" if theme is Theme.LIGHT else "connection")
        dialog.resize(880, 660)
        settle()
        dialog.grab().save(str(out / f"settings-{theme.value}.png"))
        dialog.close()
        window.quit()

    apply_theme(app, Theme.LIGHT)
    paths = resolve_paths(profile / "welcome").ensure()
    window = MainWindow(paths, LoadResult(Settings()), offer=EnvironmentOffer())
    window.resize(1000, 720)
    window.show()
    settle()
    window.grab().save(str(out / "welcome-light.png"))
    window.quit()
    print("done")
    """
)

NAMES = ["main-light.png", "main-dark.png", "settings-light.png", "settings-dark.png", "welcome-light.png"]


def mean_lightness(image: QImage) -> float:
    step = 8
    values = [
        image.pixelColor(x, y).lightness()
        for x in range(0, image.width(), step)
        for y in range(0, image.height(), step)
    ]
    return sum(values) / len(values)


@pytest.mark.xvfb
@pytest.mark.timeout(90)
def test_screenshots_on_a_real_x_display(xvfb_display: str, tmp_path: Path) -> None:
    shots = screenshot_folder(tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    profile = tmp_path / "profile"
    environment = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb_display, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(shots), str(profile)],
        capture_output=True, text=True, timeout=80, env=environment, cwd=REPO, check=False,
    )
    assert result.returncode == 0 and "done" in result.stdout, result.stderr[-3000:]
    images = {name: QImage(str(shots / name)) for name in NAMES}
    for name, image in images.items():
        assert not image.isNull() and image.width() >= 800 and image.height() >= 600, name
    assert mean_lightness(images["main-light.png"]) > 180
    assert mean_lightness(images["main-dark.png"]) < 80
    assert mean_lightness(images["settings-dark.png"]) < 80


TOOLS_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from azassist.core.environment import EnvironmentOffer
    from azassist.core.events import ConnectionState
    from azassist.core.paths import resolve_paths
    from azassist.core.settings import LoadResult, Settings, Theme
    from azassist.ui.app import create_application
    from azassist.ui.event_loop import AppEventLoop
    from azassist.ui.main_window import MainWindow
    from azassist.ui.theme import apply_theme

    out, profile, time_server = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    app = create_application()
    app.setCursorFlashTime(0)
    apply_theme(app, Theme.LIGHT)
    loop = AppEventLoop(app)
    asyncio.set_event_loop(loop)
    settings = Settings.model_validate({"tools": {"mcp_servers": [
        {"name": "time", "command": time_server, "args": ["--local-timezone", "Europe/Paris"]},
        {"name": "github", "command": "docker", "args": ["run", "-i", "--rm", "ghcr.io/github/github-mcp-server"],
         "secret_env": ["GITHUB_PERSONAL_ACCESS_TOKEN"], "enabled": False},
        {"name": "notes", "transport": "streamable_http", "url": "https://notes.example.com/mcp",
         "secret_headers": ["Authorization"], "enabled": False},
    ]}})

    async def until(predicate, what, timeout=60):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def settle():
        for _ in range(30):
            await asyncio.sleep(0.02)

    async def main():
        window = MainWindow(resolve_paths(profile).ensure(), LoadResult(settings), offer=EnvironmentOffer())
        window.resize(1000, 720)
        window.show()
        window.start_demo()  # the offline demo: a real engine and the local server
        await until(lambda: window.connection is ConnectionState.CONNECTED, "the demo")
        def replies():
            return [e for e in window.transcript.entries if e.kind.value == "assistant" and e.final]
        for text in ("What time is it in Tokyo?", "Remind me in ten minutes to stretch"):
            before = len(replies())
            window.send_text(text)
            await until(lambda: len(replies()) > before, f"the reply to {text!r}")
        await until(lambda: len([e for e in window.transcript.entries if e.kind.value == "tool" and e.final]) >= 2, "tool rows")
        await settle()
        window.grab().save(str(out / "tools-conversation.png"))
        from azassist.core.tools.policy import Decision, ToolRequest
        # the question the window asks before a call that reads private data (as the engine asks it)
        asking = asyncio.ensure_future(window.tools.confirm(ToolRequest(
            "call_shot", "read_clipboard", "Read the clipboard", "", "It reads what you copied, which may be private.")))
        await until(lambda: window.tools.open_dialogs, "the question")
        await settle()
        window.tools.open_dialogs[-1].grab().save(str(out / "tools-confirm.png"))
        window.tools.open_dialogs[-1].choose(Decision.DENY)
        assert await asking is Decision.DENY
        dialog = window.open_settings("tools")
        dialog.resize(880, 700)
        pane = dialog.mcp_servers
        pane.list.setCurrentRow(0)
        status = await pane.test_selected()
        assert status is not None and status.ok, status
        await settle()
        dialog.grab().save(str(out / "tools-settings.png"))
        dialog.close()
        window.quit()
        await window.shutdown()
        print("done")

    loop.run_until_complete(main())
    loop.close()  # finishes qasync's worker threads (speech is rendered on them)
    """
)


@pytest.mark.xvfb
@pytest.mark.audio
@pytest.mark.timeout(120)
def test_tools_screenshots_from_the_offline_demo(xvfb_display: str, tmp_path: Path) -> None:
    """The Tools pane (MCP servers, one tested) and a demo conversation with its tool rows."""
    shots = screenshot_folder(tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb_display, "PYTHONPATH": str(REPO)}
    time_server = str(Path(sys.executable).parent / "mcp-server-time")
    result = subprocess.run(
        [sys.executable, "-c", TOOLS_SCRIPT, str(shots), str(tmp_path / "profile"), time_server],
        capture_output=True, text=True, timeout=110, env=environment, cwd=REPO, check=False,
    )
    assert result.returncode == 0 and "done" in result.stdout, (result.stdout[-2000:], result.stderr[-3000:])
    for name in ("tools-conversation.png", "tools-settings.png"):
        image = QImage(str(shots / name))
        assert not image.isNull() and image.width() >= 800 and image.height() >= 600, name
    question = QImage(str(shots / "tools-confirm.png"))
    assert not question.isNull() and question.width() >= 300


HIGH_DPI = textwrap.dedent(
    """
    import sys
    from azassist.core.environment import EnvironmentOffer
    from azassist.core.paths import resolve_paths
    from azassist.core.settings import LoadResult, Settings
    from azassist.ui.app import create_application
    from azassist.ui.main_window import MainWindow

    app = create_application()
    window = MainWindow(resolve_paths(sys.argv[1]).ensure(), LoadResult(Settings()), offer=EnvironmentOffer())
    window.resize(800, 600)
    window.show()
    app.processEvents()
    shot = window.grab()
    icon = window.mute_action.icon().pixmap(24, 24)
    print(shot.devicePixelRatio(), shot.width(), icon.devicePixelRatio(), icon.width())
    window.quit()
    """
)


@pytest.mark.xvfb
@pytest.mark.timeout(60)
def test_high_dpi_renders_at_the_screen_scale(xvfb_display: str, tmp_path: Path) -> None:
    environment = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb_display, "PYTHONPATH": str(REPO),
                   "QT_SCALE_FACTOR": "2"}
    result = subprocess.run(
        [sys.executable, "-c", HIGH_DPI, str(tmp_path)],
        capture_output=True, text=True, timeout=50, env=environment, cwd=REPO, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    window_ratio, window_pixels, icon_ratio, icon_pixels = map(float, result.stdout.split())
    assert window_ratio == 2.0 and window_pixels == 1600.0  # crisp, not upscaled
    assert icon_ratio == 2.0 and icon_pixels == 48.0  # icons drawn for the scale
