"""Continue a saved conversation from the window: the menu action and the conversations
dialog's button; the real engine against the local server, the turns shown marked earlier."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from azassist.core.paths import AppPaths
from azassist.core.transcript import ConversationWriter, TurnRecord, read_conversation
from azassist.simulator import LocalRealtimeServer

from .conftest import memory_key, open_window, settings_for, until

pytestmark = [pytest.mark.audio, pytest.mark.timeout(90)]


def _saved(directory: Path) -> Path:
    with ConversationWriter(directory, {"deployment": "gpt-realtime"}) as writer:
        writer.append(TurnRecord(role="user", text="Remind me to water the basil.", id="u1"))
        writer.append(TurnRecord(role="assistant", text="I will remind you about the basil.", id="a1"))
        return writer.path


@pytest.mark.asyncio
async def test_continue_last_conversation_from_the_menu(paths: AppPaths, server: LocalRealtimeServer) -> None:
    saved = _saved(paths.conversations_dir)
    server.scripted.queue_reply("Yes: the basil, this evening.")
    async with open_window(paths, settings_for(server), credentials=memory_key()) as h:
        window = h.window
        window.continue_action.trigger()
        await h.connected()
        earlier = [e for e in window.transcript.entries if e.earlier]
        assert [e.text for e in earlier] == ["Remind me to water the basil.", "I will remind you about the basil."]
        assert "· earlier" in window.transcript.plain_text()
        assert any(e.kind.value == "notice" and "Continued here" in e.text for e in window.transcript.entries)
        QTest.keyClicks(window.controls.message, "What was I to remember?")
        QTest.keyClick(window.controls.message, Qt.Key.Key_Return)
        await until(lambda: "Yes: the basil, this evening." in h.finals("assistant"), what="the reply")
        updates = [e.event for e in server.received.of_type("session.update") if e.event]
        assert any("User: Remind me to water the basil." in u["session"].get("instructions", "") for u in updates)
    conversation = read_conversation(saved)
    assert [t.text for t in conversation.turns][-2:] == ["What was I to remember?", "Yes: the basil, this evening."]
    assert conversation.resumed_at == (2,)
    assert len(list(paths.conversations_dir.glob("*.jsonl"))) == 1


def test_the_dialog_asks_to_continue_the_selected_conversation(qtbot: object, paths: AppPaths) -> None:
    from azassist.ui.conversations import ConversationsDialog

    saved = _saved(paths.conversations_dir)
    dialog = ConversationsDialog(paths.conversations_dir)
    asked: list[Path] = []
    dialog.continue_requested.connect(asked.append)
    assert dialog.continue_button.isEnabled()
    dialog.continue_button.click()
    assert asked == [saved]
    dialog.deleteLater()
