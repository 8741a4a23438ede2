"""The global push-to-talk key in the real window: the X11 backend listens on a real X server
(Xvfb) where another client has the keyboard focus, keys come in through XTEST (xdotool), and
the turn goes through the real engine to the local server while the virtual microphone plays
speech. The window itself is offscreen: it never gets these keys through Qt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from azassist.core.events import Activity, ConnectionState, Notice
from azassist.core.hotkey import Cue, NoBackend
from azassist.core.paths import AppPaths
from azassist.simulator import LocalRealtimeServer
from tests.core.hotkey.x11_support import focused_client, xdotool
from tests.support.services import Xvfb
from tests.ui.conftest import memory_key, open_window, settings_for, speaking_into_microphone, until

pytestmark = [pytest.mark.asyncio, pytest.mark.audio, pytest.mark.xvfb]

GLOBAL_ON = {"global_push_to_talk": True, "global_push_to_talk_key": "Pause"}


@pytest.fixture
def xserver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Xvfb]:
    """A private X server for the key listener; the window stays offscreen."""
    server = Xvfb.start()
    monkeypatch.setenv("DISPLAY", server.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    yield server
    server.stop()


async def test_held_global_key_talks_from_another_application(
    paths: AppPaths, server: LocalRealtimeServer, speech_wav: Path, xserver: Xvfb
) -> None:
    display = xserver.display
    server.scripted.queue_transcript("the global key works")
    server.scripted.queue_reply("I heard you from the other window.")
    settings = settings_for(server, turn_detection={"mode": "manual"}, ui=GLOBAL_ON)
    async with open_window(paths, settings, credentials=memory_key()) as h:
        window = h.window
        hotkey = window.global_hotkey
        assert hotkey.controller is not None and hotkey.backend.name.startswith("X11")
        with focused_client(display) as editor:
            assert editor.focused_window(display) == editor.window
            assert QApplication.activeWindow() is not window or QApplication.platformName() == "offscreen"
            # Not connected: the key connects first and says so.
            xdotool(display, "keydown", "Pause")
            await until(lambda: any(f.cue is Cue.CONNECTING for f in hotkey.feedback), what="connect-first")
            xdotool(display, "keyup", "Pause")
            await h.connected()
            assert window.ptt_source is None
            # Hold: talk while the microphone plays speech; autorepeat comes meanwhile.
            xdotool(display, "keydown", "Pause")
            await until(lambda: window.ptt_source == "global", what=f"the global key to open the microphone {hotkey.feedback}")
            await until(lambda: window.activity is Activity.USER_SPEAKING, what="the microphone to open")
            assert window.tray.talking
            with speaking_into_microphone(speech_wav) as player:
                await until(lambda: player.poll() is not None, 20, "the speech to be played")
            assert window.ptt_source == "global", "autorepeat did not end or restart the turn"
            xdotool(display, "keyup", "Pause")
            await until(lambda: window.ptt_source is None, what="the release to send")
            assert not window.tray.talking
            await until(lambda: h.finals("assistant"), 30, "the reply to the held turn")
            assert h.finals("user") == ["the global key works"]
            assert h.finals("assistant") == ["I heard you from the other window."]
            assert len(server.received.of_type("input_audio_buffer.commit")) == 1
            cues = [f.cue for f in hotkey.feedback]
            assert cues.count(Cue.TALKING) == 1 and cues.count(Cue.SENT) == 1
            # A tap too short to carry speech is ignored, as in the window.
            xdotool(display, "key", "Pause")
            await until(lambda: "too short" in window.transcript.plain_text(), what="the tap to be refused")
            assert any(isinstance(e, Notice) and "too short" in e.message for e in h.events)
            assert len(server.received.of_type("input_audio_buffer.commit")) == 1
            assert window.ptt_source is None
            # Turning the setting off stops listening: the key does nothing any more.
            window.editor.replace(settings.model_copy(update={"ui": settings.ui.model_copy(update={"global_push_to_talk": False})}))
            await until(lambda: hotkey.controller is None, what="the key to be switched off")
            xdotool(display, "keydown", "Pause")
            await asyncio.sleep(0.3)
            assert window.ptt_source is None
            xdotool(display, "keyup", "Pause")
        assert window.connection is ConnectionState.CONNECTED


async def test_max_hold_sends_and_x_server_loss_closes_the_microphone(
    paths: AppPaths, server: LocalRealtimeServer, xserver: Xvfb
) -> None:
    display = xserver.display
    settings = settings_for(
        server, turn_detection={"mode": "manual"}, ui={**GLOBAL_ON, "global_push_to_talk_max_hold_s": 5}
    )
    async with open_window(paths, settings, credentials=memory_key()) as h:
        window, hotkey = h.window, h.window.global_hotkey
        hotkey.controller.max_hold = 0.5  # the setting's floor is 5 s; the rule is the same
        window.connect_engine()
        await h.connected()
        with focused_client(display):
            xdotool(display, "keydown", "Pause")
            await until(lambda: window.ptt_source == "global", what="the turn to start")
            await until(lambda: window.ptt_source is None, what="the longest hold to send the turn")
            assert "longest" in hotkey.feedback[-1].message
            await asyncio.sleep(0.8)  # still held, autorepeating: no new turn
            assert window.ptt_source is None
            xdotool(display, "keyup", "Pause")
            await until(lambda: not hotkey.controller.key_held, what="the release")
            xdotool(display, "keydown", "Pause")
            await until(lambda: window.ptt_source == "global", what="a new press to start a new turn")
            xserver.stop()  # the X server goes away with the key down
            await until(lambda: window.ptt_source is None, what="the lost X server to close the microphone")
            assert hotkey.feedback[-1].cue is Cue.UNAVAILABLE
            assert "Not working" in hotkey.describe()


async def test_pane_says_which_backend_and_what_works_instead(paths: AppPaths, server: LocalRealtimeServer) -> None:
    settings = settings_for(server, ui=GLOBAL_ON)
    async with open_window(paths, settings, credentials=memory_key()) as h:
        window = h.window
        window.global_hotkey.stop()
        window.global_hotkey._factory = lambda: NoBackend("Wayland without the portal: use the in-window key.")
        window.global_hotkey.apply(window.settings)
        await until(lambda: window.global_hotkey.controller.unavailable_reason, what="the backend to say why not")
        dialog = window.open_settings("ui")
        note = window.global_hotkey._note
        assert note is not None and note.isVisibleTo(dialog)
        assert note.text().startswith("Not working: Wayland without the portal: use the in-window key.")
        assert dialog.forms["ui"].rows["global_push_to_talk_key"].isVisible()
        dialog.close()
