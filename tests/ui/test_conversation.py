"""Whole conversations in the window: the real engine, the real local server over a socket,
real sound streams on the suite's virtual microphone and speaker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from azassist.core.events import Activity, ConnectionState, Levels, StateChanged
from azassist.core.paths import AppPaths
from azassist.simulator import LocalRealtimeServer
from azassist.ui.session import Mode

from .conftest import (
    memory_key,
    open_window,
    settings_for,
    speaking_into_microphone,
    until,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.audio, pytest.mark.timeout(90)]


async def test_typed_message_gets_a_reply_in_the_transcript(paths: AppPaths, server: LocalRealtimeServer) -> None:
    server.scripted.queue_reply("Hello from the local server.")
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        assert window.pages.currentWidget() is window.conversation_page  # configured: no welcome
        window.connect_action.trigger()
        await h.connected()
        assert window.connect_action.text() == "Disconnect"
        assert window.endpoint_label.text() == "gpt-realtime @ 127.0.0.1"
        QTest.keyClicks(window.controls.message, "hi there")
        QTest.keyClick(window.controls.message, Qt.Key.Key_Return)
        await until(lambda: h.finals("assistant"), what="the reply")
        assert h.finals("user") == ["hi there"]
        assert h.finals("assistant") == ["Hello from the local server."]
        assert window.controls.message.text() == ""
        await until(lambda: window.tokens_label.text().startswith("Tokens"), what="token usage")
        await until(lambda: window.latency_label.text().startswith("Latency"), what="latency")
        assert "Connected" in window.state_pill.text()
        assert "Connected" in window.tray.state_text


async def test_spoken_conversation_through_the_virtual_devices(
    paths: AppPaths, server: LocalRealtimeServer, speech_wav: Path
) -> None:
    server.scripted.queue_transcript("what is the weather like")
    server.scripted.queue_reply("It is sunny and warm.")
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        with speaking_into_microphone(speech_wav):
            await until(lambda: h.finals("assistant"), 30, "the spoken reply")
        assert h.finals("user") == ["what is the weather like"]
        assert h.finals("assistant") == ["It is sunny and warm."]
        user_row, reply_row = window.transcript.entries
        assert (user_row.kind.value, reply_row.kind.value) == ("user", "assistant")
        activities = [e.activity for e in h.of(StateChanged)]
        for state in (Activity.LISTENING, Activity.USER_SPEAKING, Activity.ASSISTANT_SPEAKING):
            assert state in activities, activities
        # The meters moved with real signal: the voice in, the reply out.
        levels = h.of(Levels)
        assert max(level.input_peak for level in levels) > -30
        assert max(level.output_peak for level in levels) > -30
        assert window.controls.mic_meter.updates > 0 and window.controls.speaker_meter.updates > 0


async def test_push_to_talk_with_the_hold_key(paths: AppPaths, server: LocalRealtimeServer, speech_wav: Path) -> None:
    server.scripted.queue_transcript("push to talk works")
    server.scripted.queue_reply("I heard you.")
    settings = settings_for(server, turn_detection={"mode": "manual"})
    async with open_window(paths, settings, credentials=memory_key()) as h:
        window = h.window
        assert window.ptt_mode_action.isChecked() and not window.hands_free
        assert window.controls.talk_stack.currentWidget() is window.controls.ptt_button
        window.connect_engine()
        await h.connected()
        window.transcript.setFocus()
        QTest.keyPress(window.transcript, Qt.Key.Key_Space)
        assert window.ptt_source == "key" and window.controls.ptt_button.held
        await until(lambda: window.activity is Activity.USER_SPEAKING, what="the held key to open the microphone")
        with speaking_into_microphone(speech_wav) as player:
            await until(lambda: player.poll() is not None, 20, "the speech to be played")  # never block the loop
        QTest.keyRelease(window.transcript, Qt.Key.Key_Space)
        assert window.ptt_source is None and not window.controls.ptt_button.held
        await until(lambda: h.finals("assistant"), 30, "the reply to the held turn")
        assert h.finals("user") == ["push to talk works"]
        assert server.received.of_type("input_audio_buffer.commit")  # the client committed the turn
        # The tray's talk item: click to talk, click again to send.
        window.ptt_tray_action.trigger()
        assert window.ptt_source == "tray"
        await until(lambda: window.activity is Activity.USER_SPEAKING, what="the tray to open the microphone")
        window.ptt_tray_action.trigger()
        assert window.ptt_source is None
        await until(lambda: "too short" in window.transcript.plain_text(), what="the empty press to be refused")
        # A focused button does not take the key (the filter follows the focus): Space talks.
        window.controls.send_button.setFocus()
        await until(lambda: QApplication.focusWidget() is window.controls.send_button, what="the focus to move")
        QTest.keyPress(window.controls.send_button, Qt.Key.Key_Space)
        assert window.ptt_source == "key"
        QTest.keyRelease(window.controls.send_button, Qt.Key.Key_Space)
        assert window.ptt_source is None
        # Typing in the message box types a space; it does not talk.
        window.controls.message.setFocus()
        QTest.keyClick(window.controls.message, Qt.Key.Key_Space)
        assert window.ptt_source is None and window.controls.message.text() == " "


async def test_switching_modes_and_muting_reach_the_engine(paths: AppPaths, server: LocalRealtimeServer) -> None:
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        QTest.keySequence(window, "Ctrl+T")  # to push-to-talk
        assert not window.hands_free and window.ptt_mode_action.isChecked()
        await until(lambda: window.engine.hands_free is False, what="the engine to switch")
        await until(lambda: any(e.event["session"].get("audio", {}).get("input", {}).get("turn_detection", "x") is None
                                for e in server.received.of_type("session.update") if e.event), what="turn_detection null")
        assert json.loads(paths.settings_file.read_text())["turn_detection"]["mode"] == "manual"
        QTest.keySequence(window, "Ctrl+T")  # and back
        await until(lambda: window.engine.hands_free is True, what="hands-free again")
        assert json.loads(paths.settings_file.read_text())["turn_detection"]["mode"] == "server_vad"
        QTest.keySequence(window, "Ctrl+M")
        assert window.mute_action.isChecked() and window.engine.muted
        assert window.mute_action.text() == "Unmute"
        window.mute_action.trigger()
        assert not window.engine.muted


async def test_interrupt_with_escape(paths: AppPaths, server: LocalRealtimeServer) -> None:
    long_reply = "This is a long answer that goes on and on for quite a while, so that it can be cut off."
    server.scripted.queue_reply(long_reply)
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        window.send_text("tell me a long story")
        await until(lambda: window.activity is Activity.ASSISTANT_SPEAKING, what="the assistant to speak")
        await until(lambda: any(e.kind.value == "assistant" and e.text for e in window.transcript.entries), what="words")
        window.transcript.setFocus()
        QTest.keyClick(window.transcript, Qt.Key.Key_Escape)
        await until(lambda: h.finals("assistant"), what="the cut reply")
        [reply] = h.rows("assistant")
        assert reply.interrupted and reply.text != long_reply
        assert "· interrupted" in window.transcript.plain_text()
        assert server.received.of_type("response.cancel")


async def test_a_settings_change_reaches_the_wire(paths: AppPaths, server: LocalRealtimeServer) -> None:
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        dialog = window.open_settings("model")
        instructions = dialog.forms["model"].rows["instructions"].editor
        instructions.text.setPlainText("Always answer in French.")
        dialog.close()  # closing keeps what was typed

        def sent_instructions() -> list[str]:
            return [e.event["session"].get("instructions") for e in server.received.of_type("session.update") if e.event]

        await until(lambda: "Always answer in French." in sent_instructions(), what="instructions on the wire")
        # A setting that waits for the next connect says so, with a way to do it now.
        dialog = window.open_settings("voice")
        combo = dialog.forms["voice"].rows["voice"].editor.focus_widget()
        combo.setCurrentIndex(combo.findText("cedar"))
        combo.activated.emit(combo.currentIndex())
        await until(lambda: not dialog.notice.isHidden(), what="the applies-on-next-connect note")
        dialog.reconnect_button.click()
        await until(lambda: len(server.sessions) >= 2 and window.connection is ConnectionState.CONNECTED,
                    what="the reconnect")
        await until(lambda: any(e.event["session"].get("audio", {}).get("output", {}).get("voice") == "cedar"
                                for e in server.received.of_type("session.update") if e.event), what="the new voice")


async def test_export_writes_markdown_and_json(paths: AppPaths, server: LocalRealtimeServer, tmp_path: Path) -> None:
    server.scripted.queue_reply("Exported words.")
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        assert window.export_current_to(tmp_path / "nothing.md") is None  # nothing finished yet
        window.send_text("please export this")
        await until(lambda: h.finals("assistant"), what="the reply")
        await until(lambda: window.current_conversation_file() is not None, what="the conversation file")
        markdown = window.export_current_to(tmp_path / "talk.md")
        document = window.export_current_to(tmp_path / "talk.json")
        assert markdown is not None and document is not None
        text = markdown.read_text()
        assert "please export this" in text and "Exported words." in text
        turns = json.loads(document.read_text())["turns"]
        assert [(t["role"], t["text"]) for t in turns] == [("user", "please export this"), ("assistant", "Exported words.")]
        history = window.show_conversations()
        assert history.list.count() == 1
        assert "please export this" in history.reader.plain_text()
        history.close()
        window.new_action.trigger()
        assert window.transcript.entries == [] and window.tokens_label.text() == ""


async def test_audio_check_plays_your_voice_back_without_any_cloud(
    paths: AppPaths, server: LocalRealtimeServer, speech_wav: Path
) -> None:
    check_events: list[object] = []
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        forward = window._check_event
        window._check_event = lambda event: (check_events.append(event), forward(event))  # type: ignore[func-returns-value]
        dialog = window.open_settings("audio")
        dialog.audio_check_button.click()
        await until(lambda: window.check_engine is not None and window.check_engine.connection is ConnectionState.CONNECTED,
                    what="the local echo")
        assert window.connection is ConnectionState.DISCONNECTED  # the conversation stepped aside
        assert "Disconnected for the audio check." in window.transcript.plain_text()
        endpoint = window.provider.local_endpoint(Mode.AUDIO_CHECK)
        assert endpoint is not None and endpoint.startswith("http://127.0.0.1:") and endpoint != server.endpoint
        with speaking_into_microphone(speech_wav):
            await until(lambda: "The echo said" in dialog.audio_check_status.text(), 30, "the echo")
        assert "I heard" in dialog.audio_check_status.text()
        levels = [event for event in check_events if isinstance(event, Levels)]
        assert max(level.input_peak for level in levels) > -30  # your voice went in
        assert max(level.output_peak for level in levels) > -30  # and came back out of the speaker
        assert dialog.input_meter.updates > 0
        assert len(server.sessions) == 1  # nothing of the check went to the configured endpoint
        dialog.audio_check_button.click()
        await until(lambda: window.check_engine is None, what="the check to stop")
        assert dialog.audio_check_button.text() == "Start audio check"
