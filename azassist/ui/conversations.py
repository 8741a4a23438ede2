"""Saved conversations: the list, a reader, and export to Markdown or JSON."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from azassist.core.transcript import (
    Conversation,
    export_to,
    list_conversations,
    read_conversation,
)
from azassist.ui.transcript_view import Entry, EntryKind, TranscriptView

log = logging.getLogger(__name__)

EXPORT_FILTERS = "Markdown (*.md);;JSON (*.json)"


def entries_of(conversation: Conversation) -> list[Entry]:
    """A saved conversation as transcript rows."""
    return [
        Entry(
            EntryKind.USER if turn.role == "user" else EntryKind.ASSISTANT,
            turn.text,
            turn.started_at or turn.ended_at,
            turn_id=turn.id or None,
            interrupted=turn.interrupted,
        )
        for turn in conversation.turns
    ]


def ask_export_path(parent: QWidget, conversation: Conversation) -> Path | None:
    """A save dialog with Markdown and JSON; the suffix follows the chosen type."""
    stamp = time.strftime("%Y-%m-%d-%H%M", time.localtime(conversation.started_at or time.time()))
    suggested = str(Path.home() / f"conversation-{stamp}.md")
    path, chosen = QFileDialog.getSaveFileName(parent, "Export conversation", suggested, EXPORT_FILTERS)
    if not path:
        return None
    target = Path(path)
    if target.suffix.lower() not in (".md", ".json"):
        target = target.with_suffix(".json" if chosen.startswith("JSON") else ".md")
    return target


def export_conversation(parent: QWidget, source: Path, target: Path) -> Path | None:
    """Write the export; a failure is said in words, never raised into the window."""
    try:
        return export_to(read_conversation(source), target)
    except (OSError, ValueError) as exc:
        log.warning("export of %s to %s failed: %s", source, target, exc)
        QMessageBox.warning(parent, "Export failed", f"The conversation could not be exported: {exc}")
        return None


class ConversationsDialog(QDialog):
    """Pick a saved conversation on the left, read it on the right."""

    def __init__(self, directory: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Saved conversations")
        self.directory = directory
        self.resize(900, 600)
        layout = QVBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.list = QListWidget()
        self.list.setAccessibleName("Saved conversations")
        self.list.currentItemChanged.connect(self._show_selected)
        self.reader = TranscriptView()
        self.reader.setAccessibleName("Saved conversation")
        self.empty = QLabel("No saved conversations yet. They appear here after your first turn.")
        self.empty.setProperty("role", "hint")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list)
        left_layout.addWidget(self.empty)
        splitter.addWidget(left)
        splitter.addWidget(self.reader)
        splitter.setSizes([300, 600])
        layout.addWidget(splitter, 1)
        buttons = QHBoxLayout()
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export the selected conversation")
        self.export_button.clicked.connect(self._export)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.reload)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(self.export_button)
        buttons.addWidget(refresh)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        for summary in list_conversations(self.directory):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.started_at))
            item = QListWidgetItem(f"{summary.title}\n{when} · {summary.turn_count} turns")
            item.setData(Qt.ItemDataRole.UserRole, str(summary.path))
            item.setToolTip(summary.path.name)
            self.list.addItem(item)
        self.empty.setVisible(self.list.count() == 0)
        self.export_button.setEnabled(self.list.count() > 0)
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.reader.clear_conversation()

    def selected_path(self) -> Path | None:
        item = self.list.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _show_selected(self, *_: object) -> None:
        path = self.selected_path()
        if path is None:
            return
        try:
            self.reader.load(entries_of(read_conversation(path)))
        except (OSError, ValueError) as exc:
            self.reader.clear_conversation()
            self.reader.add_note(EntryKind.ERROR, f"This conversation could not be read: {exc}")
        self.reader.verticalScrollBar().setValue(0)

    def _export(self) -> None:
        path = self.selected_path()
        if path is None:
            return
        target = ask_export_path(self, read_conversation(path))
        if target is not None:
            export_conversation(self, path, target)
