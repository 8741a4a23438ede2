"""The window's side of tools: asking before a call runs, the clipboard, and showing activity.

``ToolConfirmDialog`` asks Allow once / Allow for this conversation / Deny, by keyboard
(Alt+A, Alt+C, Alt+D; Escape denies) or by click; it never blocks the event loop, so the
conversation, the meters and an interruption go on while it is open. ``WindowTools`` gives
the engine its ``confirm_tool`` and ``clipboard`` and renders tool events: a compact row per
call in the transcript, a tray message when a reminder is due, a note per MCP server.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from azassist.core.tools.policy import (
    Decision,
    ReminderDue,
    ToolActivity,
    ToolRequest,
    ToolServerStatus,
    activity_row,
)
from azassist.ui.transcript_view import EntryKind

if TYPE_CHECKING:
    from azassist.ui.main_window import MainWindow


class ToolConfirmDialog(QDialog):
    """One tool call waiting for the user's yes or no."""

    decided = Signal(object)  # Decision

    def __init__(self, request: ToolRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.setObjectName("toolConfirmDialog")
        self.setWindowTitle("Allow this tool?")
        self.setModal(False)  # the conversation goes on meanwhile
        layout = QVBoxLayout(self)
        heading = QLabel(f"The assistant wants to: <b>{_escape(request.title)}</b>")
        heading.setTextFormat(Qt.TextFormat.RichText)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        if request.arguments:
            details = QLabel(request.arguments)
            details.setObjectName("toolArguments")
            details.setWordWrap(True)
            details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            details.setAccessibleName("What it will use")
            layout.addWidget(details)
        why = QLabel(request.why)
        why.setWordWrap(True)
        why.setProperty("role", "hint")
        layout.addWidget(why)
        buttons = QDialogButtonBox()
        self.allow_once = QPushButton("&Allow once")
        self.allow_conversation = QPushButton("Allow for this &conversation")
        self.deny = QPushButton("&Deny")
        for button, decision, role in (
            (self.allow_once, Decision.ALLOW_ONCE, QDialogButtonBox.ButtonRole.AcceptRole),
            (self.allow_conversation, Decision.ALLOW_CONVERSATION, QDialogButtonBox.ButtonRole.AcceptRole),
            (self.deny, Decision.DENY, QDialogButtonBox.ButtonRole.RejectRole),
        ):
            button.setAutoDefault(False)
            button.clicked.connect(lambda _checked=False, d=decision: self.choose(d))
            buttons.addButton(button, role)
        self.allow_once.setDefault(True)  # Enter: the one-time yes; Escape: no
        layout.addWidget(buttons)
        self._answered = False

    def choose(self, decision: Decision) -> None:
        if not self._answered:
            self._answered = True
            self.decided.emit(decision)
        self.close()

    def reject(self) -> None:  # Escape, or the window's close button
        self.choose(Decision.DENY)

    def closeEvent(self, event: Any) -> None:
        if not self._answered:
            self._answered = True
            self.decided.emit(Decision.DENY)
        super().closeEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class QtClipboard:
    """The engine's clipboard seam over Qt's (called on the window's thread, as the loop runs there)."""

    def read_text(self) -> str:
        return QGuiApplication.clipboard().text()

    def write_text(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)


class WindowTools:
    """What the window gives the engine for tools, and how it shows their events."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.clipboard = QtClipboard()
        self.open_dialogs: list[ToolConfirmDialog] = []

    def engine_kwargs(self) -> dict[str, Any]:
        return {"confirm_tool": self.confirm, "clipboard": self.clipboard}

    async def confirm(self, request: ToolRequest) -> Decision:
        """Show the question and wait for the answer; closed unanswered if the call is
        cancelled (an interruption, a disconnect)."""
        dialog = ToolConfirmDialog(request, self.window)
        answer: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        def answered(decision: Decision) -> None:
            if not answer.done():
                answer.set_result(decision)

        dialog.decided.connect(answered)
        self.open_dialogs.append(dialog)
        if not self.window.isVisible():  # in the tray: say that something waits
            with contextlib.suppress(Exception):
                self.window.tray.notify(f"The assistant asks to {request.title.lower()}: open azassist to answer.")
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        try:
            return await answer
        finally:
            self.open_dialogs.remove(dialog)
            with contextlib.suppress(RuntimeError):  # already gone with the window
                if dialog.isVisible():
                    dialog.decided.disconnect()
                    dialog.close()
                dialog.deleteLater()

    def show(self, event: Any) -> bool:
        """Render a tool event; False when ``event`` is not one."""
        transcript = self.window.transcript
        if isinstance(event, ToolActivity):
            transcript.show_tool(event.call_id, activity_row(event), final=event.finished, at=event.at)
        elif isinstance(event, ReminderDue):
            transcript.add_note(EntryKind.NOTICE, f"⏰ {event.message}", event.at)
            with contextlib.suppress(Exception):
                self.window.tray.notify(event.message)
        elif isinstance(event, ToolServerStatus):
            if event.ok:
                self.window.statusBar().showMessage(event.message, 6000)
            else:
                transcript.add_note(EntryKind.WARNING, f"{event.message} The conversation goes on without its tools.", event.at)
        else:
            return False
        return True
