"""Saved conversations: search, the list (title, date, turns, duration, cost), a reader that
opens at the matching turn, rename, delete, and export to Markdown or JSON.

Thousands of conversations must never freeze the window: the list is a model (rows drawn
on demand), the library's refresh and search run on one worker thread in slices
(``azassist.core.library``), results come back through queued Qt signals, and a newer search
cancels the one still running. Only a handful of changed files are read inline, so a
dialog opened after one new conversation is up to date at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTextEdit,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from azassist.core.library import ConversationInfo, Library, SearchHit, query_words
from azassist.core.pricing import DEFAULT_PRICE_TABLE, PriceBook
from azassist.core.transcript import (
    Conversation,
    export_to,
    read_conversation,
)
from azassist.ui.transcript_view import Entry, EntryKind, TranscriptView

log = logging.getLogger(__name__)

EXPORT_FILTERS = "Markdown (*.md);;JSON (*.json)"
INLINE_FILES = 20  # at most this many changed files are read on the window's thread
INLINE_INDEX_BYTES = 1_000_000  # a small index is loaded inline too
SEARCH_DELAY_MS = 200  # typing pauses this long before a search starts
MAX_HITS = 500


def entries_of(conversation: Conversation) -> list[Entry]:
    """A saved conversation as transcript rows, its tool calls as compact rows where they came."""
    entries: list[Entry] = []
    tools = sorted(conversation.tools, key=lambda record: record.after_turns)
    for number, turn in enumerate([*conversation.turns, None]):
        while tools and tools[0].after_turns <= number:
            record = tools.pop(0)
            entries.append(Entry(EntryKind.TOOL, record.summary(), record.ended_at, turn_id=record.call_id or None))
        if turn is not None:
            entries.append(
                Entry(
                    EntryKind.USER if turn.role == "user" else EntryKind.ASSISTANT,
                    turn.text,
                    turn.started_at or turn.ended_at,
                    turn_id=turn.id or None,
                    interrupted=turn.interrupted,
                )
            )
    return entries


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


def export_conversation(parent: QWidget, source: Path, target: Path, prices_text: str | None = None) -> Path | None:
    """Write the export (tokens and cost by the user's price table); a failure is said in
    words, never raised into the window."""
    try:
        return export_to(read_conversation(source), target, PriceBook(prices_text or DEFAULT_PRICE_TABLE))
    except (OSError, ValueError) as exc:
        log.warning("export of %s to %s failed: %s", source, target, exc)
        QMessageBox.warning(parent, "Export failed", f"The conversation could not be exported: {exc}")
        return None


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


COLUMNS = ("Title", "Date", "Turns", "Duration", "Cost")


class ConversationModel(QAbstractTableModel):
    """The library's conversations as rows; Qt asks only for the rows it draws."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[ConversationInfo] = []
        self.prices = PriceBook(DEFAULT_PRICE_TABLE)

    def set_rows(self, rows: list[ConversationInfo]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        info = self.rows[index.row()]
        if role == Qt.ItemDataRole.UserRole:
            return str(info.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{info.title}\n{info.path.name}" + (f"\nDeployment: {info.deployment}" if info.deployment else "")
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        column = index.column()
        if column == 0:
            return info.title
        if column == 1:
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(info.started_at))
        if column == 2:
            return str(info.turn_count)
        if column == 3:
            return format_duration(info.duration_s)
        cost = self.prices.cost(info.usage, info.deployment)
        return cost.label if cost is not None else "–"


class ConversationList(QTreeView):
    """A flat, many-column list of conversations."""

    def __init__(self, model: ConversationModel) -> None:
        super().__init__()
        self.setModel(model)
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QTreeView.SelectionBehavior.SelectRows)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Fixed widths: "resize to contents" would measure every one of thousands of rows.
        metrics = self.fontMetrics()
        for column, sample in enumerate(("", "2026-12-31 23:59", "Turns", "Duration", "≥ $0.0000"), start=0):
            if column:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
                header.resizeSection(column, metrics.horizontalAdvance(sample) + 24)

    def count(self) -> int:
        return self.model().rowCount()


class _Bridge(QObject):
    """Carries the worker's results to the window's thread (queued connections)."""

    refreshed = Signal(int)
    progress = Signal(int, int, int)
    hits = Signal(int, object)
    searched = Signal(int, int)
    finished = Signal()


class ConversationsDialog(QDialog):
    """Search box on top; the list (or the search results) on the left, the reader on the
    right; the actions below (``_build_actions``)."""

    listed = Signal(int)  # rows in the list after a refresh
    searchFinished = Signal(int)  # number of hits
    continue_requested = Signal(object)  # the selected conversation's Path: the window continues it

    def __init__(self, directory: Path, parent: QWidget | None = None, prices_text: str = DEFAULT_PRICE_TABLE) -> None:
        super().__init__(parent)
        self.setWindowTitle("Saved conversations")
        self.directory = directory
        self.library = Library(directory)
        self.resize(1000, 640)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="azassist-library")
        self._jobs = 0  # submitted and not yet finished (window thread only)
        self._generation = 0  # bumped by each new search or refresh: older work stops
        self._closing = threading.Event()  # set when the window goes: the worker stops
        self.destroyed.connect(self._closing.set)
        self._bridge = _Bridge(self)
        self._bridge.refreshed.connect(self._refreshed)
        self._bridge.progress.connect(self._progress)
        self._bridge.hits.connect(self._add_hits)
        self._bridge.searched.connect(self._searched)
        self._bridge.finished.connect(self._job_done)
        self.current_entry: Entry | None = None
        self._shown_path: Path | None = None
        self.hits: list[SearchHit] = []

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search all conversations (both sides)…")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setAccessibleName("Search saved conversations")
        self.search_box.textChanged.connect(self._search_text_changed)
        self.status = QLabel()
        self.status.setProperty("role", "hint")
        self.status.setAccessibleName("Library status")
        top.addWidget(self.search_box, 1)
        top.addWidget(self.status)
        layout.addLayout(top)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._start_search)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.model = ConversationModel(self)
        self.model.prices = PriceBook(prices_text)
        self._prices_text = prices_text
        self.list = ConversationList(self.model)
        self.list.setAccessibleName("Saved conversations")
        self.list.selectionModel().currentRowChanged.connect(self._show_selected)
        self.results = QListWidget()
        self.results.setAccessibleName("Search results")
        self.results.setUniformItemSizes(True)  # every hit is two lines: no per-item measuring
        self.results.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.results.currentItemChanged.connect(self._show_hit)
        self.left = QStackedWidget()
        self.left.addWidget(self.list)
        self.left.addWidget(self.results)
        self.reader = TranscriptView()
        self.reader.setAccessibleName("Saved conversation")
        self.empty = QLabel("No saved conversations yet. They appear here after your first turn.")
        self.empty.setProperty("role", "hint")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.left)
        left_layout.addWidget(self.empty)
        splitter.addWidget(left)
        splitter.addWidget(self.reader)
        splitter.setSizes([520, 480])
        layout.addWidget(splitter, 1)
        layout.addLayout(self._build_actions())
        self.reload()

    # ----------------------------------------------------------------- actions

    def _build_actions(self) -> QHBoxLayout:
        """The row of buttons under the list; each acts on the selected conversation.
        (One place to add an action such as continuing a conversation.)"""
        row = QHBoxLayout()
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export the selected conversation")
        self.export_button.clicked.connect(self._export)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.setAccessibleName("Rename the selected conversation")
        self.rename_button.clicked.connect(lambda: self.rename_selected())
        self.delete_button = QPushButton("Delete")
        self.delete_button.setAccessibleName("Delete the selected conversation")
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        self.continue_button = QPushButton("Continue this conversation")
        self.continue_button.setAccessibleName("Continue the selected conversation")
        self.continue_button.clicked.connect(self._continue_selected)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.reload)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        self.selection_buttons = [self.continue_button, self.export_button, self.rename_button, self.delete_button]
        for button in self.selection_buttons:
            row.addWidget(button)
        row.addWidget(refresh)
        row.addStretch(1)
        row.addWidget(close)
        return row

    def _continue_selected(self) -> None:
        path = self.selected_path()
        if path is not None:
            self.continue_requested.emit(path)

    @property
    def prices_text(self) -> str:
        return self._prices_text

    @prices_text.setter
    def prices_text(self, text: str) -> None:
        if text != self._prices_text:
            self._prices_text = text
            self.model.prices = PriceBook(text)
            self.model.layoutChanged.emit()

    # ----------------------------------------------------------------- the list

    def reload(self) -> None:
        """Up to date at once when few files changed; otherwise what is known now, and the
        rest from the worker (the status line counts it)."""
        if self._jobs == 0 and self._cheap_to_refresh():
            self.library.refresh()
            self._generation += 1
            self._refreshed(self._generation)
            return
        self._show_rows()
        self.status.setText("Reading saved conversations…")
        self._generation += 1
        generation = self._generation
        self._submit(lambda: self._refresh_job(generation))

    def _cheap_to_refresh(self) -> bool:
        index = self.library.index_path
        if not self.library.conversations() and index.exists():
            try:
                if index.stat().st_size > INLINE_INDEX_BYTES:
                    return False
            except OSError:
                pass
            self.library.refresh(should_stop=lambda: False)  # small index: load it inline
        return self.library.pending() <= INLINE_FILES

    def _refresh_job(self, generation: int) -> None:
        stop = self._stopper(generation)
        self.library.refresh(should_stop=stop, progress=lambda done, total: self._bridge.progress.emit(generation, done, total))
        if not stop():
            self._bridge.refreshed.emit(generation)

    def _progress(self, generation: int, done: int, total: int) -> None:
        if generation == self._generation:
            self.status.setText(f"Reading saved conversations… {done:,} of {total:,}")

    def _refreshed(self, generation: int) -> None:
        if generation != self._generation:
            return
        self._show_rows()
        count = self.list.count()
        self.status.setText(f"{count:,} conversation{'s' if count != 1 else ''}")
        self.listed.emit(count)
        if self.search_box.text().strip():
            self._start_search()

    def _show_rows(self) -> None:
        keep = self.selected_path()
        self.model.set_rows(self.library.conversations())
        count = self.list.count()
        searching = bool(self.search_box.text().strip())
        self.empty.setVisible(count == 0 and not searching)
        for button in self.selection_buttons:
            button.setEnabled(count > 0)
        if not count:
            self.reader.clear_conversation()
            self._shown_path = None
            return
        row = next((i for i, info in enumerate(self.model.rows) if info.path == keep), 0)
        if not searching:
            self.list.setCurrentIndex(self.model.index(row, 0))

    def selected_path(self) -> Path | None:
        if self.left.currentWidget() is self.results:
            item = self.results.currentItem()
            hit = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
            return hit.path if isinstance(hit, SearchHit) else None
        index = self.list.currentIndex()
        return Path(index.data(Qt.ItemDataRole.UserRole)) if index.isValid() else None

    def _show_selected(self, *_: object) -> None:
        path = self.selected_path()
        if path is None or self.left.currentWidget() is not self.list:
            return
        if self._load(path):
            self.reader.verticalScrollBar().setValue(0)

    def _load(self, path: Path) -> bool:
        """Show one conversation in the reader (one file: read here)."""
        if path == self._shown_path:
            return True
        self._shown_path = path
        try:
            self.reader.load(entries_of(read_conversation(path)))
            return True
        except (OSError, ValueError) as exc:
            self.reader.clear_conversation()
            self.reader.add_note(EntryKind.ERROR, f"This conversation could not be read: {exc}")
            return False

    # ----------------------------------------------------------------- search

    def search(self, text: str) -> None:
        """Type ``text`` into the search box (the search starts after the typing pause)."""
        self.search_box.setText(text)

    def _search_text_changed(self, text: str) -> None:
        self._generation += 1  # whatever runs is out of date now
        if not text.strip():
            self._search_timer.stop()
            self.left.setCurrentWidget(self.list)
            self._shown_path = None
            self._show_rows()
            count = self.list.count()
            self.status.setText(f"{count:,} conversation{'s' if count != 1 else ''}")
            return
        self._search_timer.start()

    def _start_search(self) -> None:
        query = self.search_box.text()
        if not query.strip():
            return
        self._generation += 1
        generation = self._generation
        self.hits = []
        self.results.clear()
        self.left.setCurrentWidget(self.results)
        self.empty.setVisible(False)
        self.status.setText("Searching…")
        self._submit(lambda: self._search_job(generation, query))

    def _search_job(self, generation: int, query: str) -> None:
        stop = self._stopper(generation)
        if self.library.pending() and not stop():  # files written since the last refresh
            self.library.refresh(should_stop=stop)
        found = 0
        for batch in self.library.search_slices(query, should_stop=stop):
            if batch:
                kept = batch[: MAX_HITS - found]
                found += len(kept)
                self._bridge.hits.emit(generation, kept)
            if found >= MAX_HITS:
                break
        if not stop():
            self._bridge.searched.emit(generation, found)

    def _add_hits(self, generation: int, batch: list[SearchHit]) -> None:
        if generation != self._generation:
            return
        first = not self.hits
        for hit in batch:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(hit.started_at))
            who = "You" if hit.role == "user" else "Assistant"
            item = QListWidgetItem(f"{hit.title}  ·  {when}\n{who}: {hit.snippet}")
            item.setData(Qt.ItemDataRole.UserRole, hit)
            item.setToolTip(f"{hit.path.name}, turn {hit.turn_index + 1}")
            self.results.addItem(item)
        self.hits.extend(batch)
        self.status.setText(f"Searching… {len(self.hits):,} so far")
        if first and self.hits:
            self.results.setCurrentRow(0)

    def _searched(self, generation: int, found: int) -> None:
        if generation != self._generation:
            return
        more = " (first ones shown)" if found >= MAX_HITS else ""
        self.status.setText(f"{found:,} matching turn{'s' if found != 1 else ''}{more}" if found else "No matches")
        if not found:
            self.reader.clear_conversation()
            self._shown_path = None
        for button in self.selection_buttons:
            button.setEnabled(found > 0)
        self.searchFinished.emit(found)

    def _show_hit(self, *_: object) -> None:
        item = self.results.currentItem()
        hit = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if isinstance(hit, SearchHit) and self._load(hit.path):
            self.open_at_turn(hit.turn_index, hit.turn_id, query_words(self.search_box.text()))

    def open_at_turn(self, turn_index: int, turn_id: str = "", words: list[str] | None = None) -> Entry | None:
        """Scroll the reader to a turn (by id, else by its place among the turns) and mark
        the searched words in it."""
        turns = [e for e in self.reader.entries if e.kind in (EntryKind.USER, EntryKind.ASSISTANT)]
        entry = next((e for e in turns if turn_id and e.turn_id == turn_id), None)
        if entry is None and 0 <= turn_index < len(turns):
            entry = turns[turn_index]
        if entry is None or entry.body is None:
            return None
        selections: list[QTextEdit.ExtraSelection] = []
        mark = QTextCharFormat()
        mark.setBackground(QColor(255, 214, 10, 150))
        block_text = entry.body.text().lower()
        for word in words or []:
            start = block_text.find(word)
            while start >= 0:
                selection = QTextEdit.ExtraSelection()
                cursor = QTextCursor(entry.body)
                cursor.setPosition(entry.body.position() + start)
                cursor.setPosition(entry.body.position() + start + len(word), QTextCursor.MoveMode.KeepAnchor)
                selection.cursor = cursor
                selection.format = mark
                selections.append(selection)
                start = block_text.find(word, start + len(word))
        self.reader.setExtraSelections(selections)
        anchor = entry.header if entry.header is not None and entry.header.isValid() else entry.body
        top = self.reader.document().documentLayout().blockBoundingRect(anchor).top()
        self.reader.verticalScrollBar().setValue(max(0, int(top) - 8))
        self.current_entry = entry
        return entry

    # ----------------------------------------------------------------- rename, delete, export

    def rename_selected(self, title: str | None = None) -> str | None:
        """``title`` None: ask. Empty: back to the first words. Returns the title shown."""
        path = self.selected_path()
        if path is None:
            return None
        if title is None:
            info = self.library.get(path)
            title, ok = QInputDialog.getText(
                self, "Rename conversation", "Title (leave empty for the first words):",
                text=info.title if info is not None else "",
            )
            if not ok:
                return None
        try:
            shown = self.library.rename(path, title)
        except OSError as exc:
            QMessageBox.warning(self, "Rename failed", f"The conversation could not be renamed: {exc}")
            return None
        self._show_rows()
        return shown

    def delete_selected(self, confirm: Callable[[Path], bool] | None = None) -> bool:
        """To the system trash; where there is none, only after ``confirm`` (by default a
        question to the user) agrees to delete it for good."""
        path = self.selected_path()
        if path is None:
            return False
        if not self.library.move_to_trash(path):
            ask = confirm or self._confirm_delete
            if not ask(path):
                return False
            try:
                self.library.delete_permanently(path)
            except OSError as exc:
                QMessageBox.warning(self, "Delete failed", f"The conversation could not be deleted: {exc}")
                return False
        self._shown_path = None
        if self.left.currentWidget() is self.results:
            self._start_search()
        self._show_rows()
        count = self.list.count()
        self.status.setText(f"Moved to the trash. {count:,} conversation{'s' if count != 1 else ''}")
        return True

    def _confirm_delete(self, path: Path) -> bool:
        info = self.library.get(path)
        answer = QMessageBox.question(
            self, "Delete for good?",
            f"There is no trash on this system, so “{info.title if info else path.name}” would be deleted "
            "for good. Delete it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _export(self) -> None:
        path = self.selected_path()
        if path is None:
            return
        target = ask_export_path(self, read_conversation(path))
        if target is not None:
            export_conversation(self, path, target, self._prices_text)

    # ----------------------------------------------------------------- the worker

    def _stopper(self, generation: int) -> Callable[[], bool]:
        return lambda: generation != self._generation or self._closing.is_set()

    def _submit(self, job: Callable[[], None]) -> None:
        self._jobs += 1

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("conversation library work failed")
            finally:
                self._bridge.finished.emit()

        self._pool.submit(run)

    def _job_done(self) -> None:
        self._jobs = max(0, self._jobs - 1)

    def closeEvent(self, event: Any) -> None:
        self._generation += 1  # stops the worker's slices
        super().closeEvent(event)

    def done(self, result: int) -> None:  # also reached by Escape
        self._generation += 1
        super().done(result)
