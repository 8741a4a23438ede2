"""Tools from the window: the real window, engine and local server. The confirmation dialog
is answered by keyboard and by click; the clipboard is Qt's; each call leaves a compact row."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from azassist.core.paths import AppPaths
from azassist.core.tools.policy import ReminderDue, ToolActivity
from azassist.core.transcript import read_conversation
from azassist.simulator import LocalRealtimeServer
from azassist.ui.tool_confirm import ToolConfirmDialog

from .conftest import WindowHarness, memory_key, open_window, settings_for, until

pytestmark = [pytest.mark.audio, pytest.mark.timeout(90)]


def _type(window: object, text: str) -> None:
    QTest.keyClicks(window.controls.message, text)
    QTest.keyClick(window.controls.message, Qt.Key.Key_Return)


async def _dialog(h: WindowHarness) -> ToolConfirmDialog:
    await until(lambda: h.window.tools.open_dialogs, what="the confirmation dialog")
    dialog = h.window.tools.open_dialogs[-1]
    await until(dialog.isVisible, what="the dialog on screen")
    return dialog


def _tool_rows(h: WindowHarness) -> list[str]:
    return [e.text for e in h.window.transcript.entries if e.kind.value == "tool"]


@pytest.mark.asyncio
async def test_reading_the_clipboard_is_denied_by_keyboard_then_allowed_by_click(
    paths: AppPaths, server: LocalRealtimeServer
) -> None:
    QGuiApplication.clipboard().setText("the launch code is 1234")
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        server.scripted.queue_tool_call("read_clipboard", {}, then="Model heard: {output}")
        _type(window, "What did I copy?")
        dialog = await _dialog(h)
        assert dialog.request.title == "Read the clipboard"
        assert any("It reads what you copied" in label.text() for label in dialog.findChildren(QLabel))
        QTest.keyClick(dialog, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)  # &Deny
        await until(lambda: any(t.startswith("Model heard: The user did not allow") for t in h.finals("assistant")),
                    what="the refusal spoken back")  # fmt: skip
        assert "the launch code" not in " ".join(h.finals("assistant"))
        await until(lambda: any("refused: you said no" in row for row in _tool_rows(h)), what="the refused row")

        server.scripted.queue_tool_call("read_clipboard", {}, then="Model heard: {output}")
        _type(window, "Now you may.")
        dialog = await _dialog(h)
        dialog.allow_once.click()
        await until(lambda: "Model heard: The clipboard holds: the launch code is 1234" in h.finals("assistant"),
                    what="the clipboard read")  # fmt: skip
        assert not window.tools.open_dialogs
        rows = _tool_rows(h)
        assert rows[-1].startswith("read_clipboard() → The clipboard holds: the launch code is 1234 · ")
        assert "⚙ read_clipboard()" in window.transcript.plain_text()
        path = window.engine.conversation_path
    saved = read_conversation(path)
    assert [(t.tool, t.status) for t in saved.tools] == [("read_clipboard", "refused"), ("read_clipboard", "done")]


@pytest.mark.asyncio
async def test_allow_for_the_conversation_then_write_the_clipboard_and_a_reminder_notifies(
    paths: AppPaths, server: LocalRealtimeServer
) -> None:
    QGuiApplication.clipboard().setText("before")
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        server.scripted.queue_tool_call("write_clipboard", {"text": "first copy"})
        _type(window, "Copy this")
        dialog = await _dialog(h)
        QTest.keyClick(dialog, Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)  # Allow for this &conversation
        await until(lambda: QGuiApplication.clipboard().text() == "first copy", what="the clipboard written")
        await until(lambda: len(h.finals("assistant")) == 1, what="the first copy's reply")
        server.scripted.queue_tool_call("write_clipboard", {"text": "second copy"})
        _type(window, "And this")
        await until(lambda: QGuiApplication.clipboard().text() == "second copy", what="the second copy, unasked")
        assert len([a for a in h.of(ToolActivity) if a.status == "asking"]) == 1
        await until(lambda: len(h.finals("assistant")) == 2, what="the second copy's reply")  # before the next turn

        server.scripted.queue_tool_call("set_timer", {"seconds": 1, "label": "tea"})  # never asks
        server.scripted.queue_reply("Your tea is ready.")  # what the assistant says when it goes off
        _type(window, "Tea in a second")
        await until(lambda: h.of(ReminderDue), what="the reminder")
        await until(lambda: any("⏰ Reminder: tea" in e.text for e in window.transcript.entries), what="the note")
        await until(lambda: "Your tea is ready." in h.finals("assistant"), what="the assistant saying it")


@pytest.mark.asyncio
async def test_an_unanswered_question_closes_when_the_conversation_disconnects(
    paths: AppPaths, server: LocalRealtimeServer
) -> None:
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.connect_engine()
        await h.connected()
        server.scripted.queue_tool_call("open_url", {"url": "https://example.org"})
        _type(window, "open it")
        dialog = await _dialog(h)
        await window.disconnect_engine()
        await until(lambda: not window.tools.open_dialogs, what="the dialog closed")
        assert not shiboken6.isValid(dialog) or not dialog.isVisible()
        refused = [a for a in h.of(ToolActivity) if a.status == "refused"]
        assert refused and refused[-1].result == "the conversation ended before you answered"


def test_a_saved_conversation_shows_its_tool_rows_where_they_came(paths: AppPaths) -> None:
    from azassist.core.transcript import ConversationWriter, ToolRecord, TurnRecord
    from azassist.ui.conversations import entries_of

    with ConversationWriter(paths.conversations_dir, {"deployment": "gpt-realtime"}) as writer:
        writer.append(TurnRecord(role="user", text="Tea in ten minutes", id="u1"))
        writer.append_tool(ToolRecord("call_1", "set_timer", "seconds=600, label=tea", "done", "Timer set.", 0.01))
        writer.append(TurnRecord(role="assistant", text="Timer set.", id="a1"))
        writer.append_tool(ToolRecord("call_2", "add", "a=1, b=2", "refused", "you said no", None, server="calc"))
        path = writer.path
    entries = entries_of(read_conversation(path))
    assert [(e.kind.value, e.text) for e in entries] == [
        ("user", "Tea in ten minutes"),
        ("tool", "set_timer(seconds=600, label=tea) → Timer set. · 0.01 s"),
        ("assistant", "Timer set."),
        ("tool", "calc › add(a=1, b=2) → refused: you said no"),
    ]


@pytest.mark.asyncio
async def test_the_audio_check_runs_without_tools_or_mcp_servers(paths: AppPaths) -> None:
    from azassist.core.credentials import CredentialStore
    from azassist.core.settings import Settings
    from azassist.ui.session import EngineProvider, Mode

    provider = EngineProvider(CredentialStore(), paths.conversations_dir, local_pace=0)
    mine = Settings.model_validate({"tools": {"mcp_servers": [{"name": "time", "command": "mcp-server-time"}]}})
    try:
        check = await provider.effective_settings(Mode.AUDIO_CHECK, mine)
        demo = await provider.effective_settings(Mode.DEMO, mine)
    finally:
        await provider.aclose()
    assert check.tools.mcp_servers == [] and not (check.tools.clock or check.tools.timers or check.tools.clipboard)
    assert [s.name for s in demo.tools.servers] == ["time"] and demo.tools.clock  # the demo keeps the user's tools
