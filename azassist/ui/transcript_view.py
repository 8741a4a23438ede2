"""The live transcript: one QTextDocument, two tinted blocks per turn, text updated in place.

A document (rather than one widget per line) keeps thousands of turns cheap and lets the
user select and copy across turns. Plain blocks, not frames: QTextDocument's cost per edit
grows with the number of frames (3000 turns took a minute), with blocks it stays flat.
Each turn keeps handles to its blocks, so a partial
transcript is replaced by the final text where it stands, even after later turns were
added below it (transcription of the user's words often finishes after the reply started).
"""

from __future__ import annotations

import time
from enum import Enum
from typing import TYPE_CHECKING

from PySide6 import QtGui
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QTextEdit, QToolButton, QWidget

from azassist.ui.theme import Colours

# The text classes are reached through ``QtGui.`` where they are used: PySide builds each
# Python class (and its enums) on first use, ~3 ms for these, and an empty transcript (the
# first paint) uses none of them.
if TYPE_CHECKING:
    from PySide6.QtGui import QTextBlock, QTextBlockFormat, QTextCharFormat, QTextCursor

LINE_SEPARATOR = "\u2028"  # keeps a multi-line turn in one block, so it can be replaced whole
_USER_PROPERTY = 0x100000  # QTextFormat.Property.UserProperty (a test keeps them equal)
_KIND_PROPERTY = _USER_PROPERTY + 1
_HEADER_PROPERTY = _USER_PROPERTY + 2
_PADDING = 8
_GAP = 8


class EntryKind(str, Enum):
    USER = "user"
    ASSISTANT = "assistant"
    NOTICE = "notice"
    WARNING = "warning"
    ERROR = "error"
    TOOL = "tool"  # a compact row per tool call (issue 21)


_BUBBLE_TINTS = {"user": "user_tint", "assistant": "assistant_tint", "error": "error_tint"}
_BUBBLE_KINDS = (EntryKind.USER, EntryKind.ASSISTANT, EntryKind.ERROR)

ROLE_NAMES = {
    EntryKind.USER: "You",
    EntryKind.ASSISTANT: "Assistant",
    EntryKind.NOTICE: "Note",
    EntryKind.WARNING: "Warning",
    EntryKind.ERROR: "Error",
    EntryKind.TOOL: "Tool",
}


class Entry:
    """One row of the transcript as the user sees it.

    Rows are compared by identity: two turns may say the same thing. A plain class, not a
    dataclass, for start-up (see ``azassist.core.paths.AppPaths``).
    """

    __slots__ = ("at", "body", "earlier", "final", "header", "interrupted", "kind", "text", "turn_id")

    def __init__(self, kind: EntryKind, text: str, at: float | None = None, turn_id: str | None = None,
                 final: bool = True, interrupted: bool = False, earlier: bool = False) -> None:
        self.kind = kind
        self.earlier = earlier  # a turn from before this session (a continued conversation)
        self.text = text
        self.at = time.time() if at is None else at
        self.turn_id = turn_id
        self.final = final
        self.interrupted = interrupted
        self.header: QTextBlock | None = None  # its blocks in the document, once shown
        self.body: QTextBlock | None = None

    def __repr__(self) -> str:
        return f"Entry({self.kind.value}, {self.text!r}, turn_id={self.turn_id!r}, final={self.final})"


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


class TranscriptView(QTextEdit):
    """Read-only, selectable transcript that follows new text unless the user scrolled up."""

    followingChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setAccessibleName("Conversation transcript")
        self.setAccessibleDescription("Your words and the assistant's replies; select text to copy it")
        self.setFrameShape(QTextEdit.Shape.NoFrame)
        document = self.document()
        document.setUndoRedoEnabled(False)  # a live log: an undo stack would only grow
        document.setDocumentMargin(14)
        document.setIndentWidth(10)
        self.entries: list[Entry] = []
        self._by_turn: dict[tuple[EntryKind, str], Entry] = {}
        self._following = True
        self._colours = Colours.for_palette(self.palette())
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)
        self._jump = QToolButton(self)
        self._jump.setText("Jump to latest ↓")
        self._jump.setAccessibleName("Jump to the latest message")
        self._jump.setCursor(Qt.CursorShape.PointingHandCursor)
        self._jump.clicked.connect(self.scroll_to_end)
        self._jump.hide()

    # --- following the conversation -------------------------------------------------------
    @property
    def following(self) -> bool:
        return self._following

    def _at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def _on_scrolled(self, _value: int) -> None:
        self._set_following(self._at_bottom())

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._following:
            self.verticalScrollBar().setValue(maximum)

    def _set_following(self, following: bool) -> None:
        if following != self._following:
            self._following = following
            self._jump.setVisible(not following)
            self._place_jump_button()
            self.followingChanged.emit(following)

    def scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
        self._set_following(True)

    def resizeEvent(self, event: QEvent) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self._jump.isVisible():  # placed when shown; see warm_up for why not before
            self._place_jump_button()

    def _place_jump_button(self) -> None:
        self._jump.adjustSize()
        viewport = self.viewport().geometry()
        self._jump.move(viewport.right() - self._jump.width() - 12, viewport.bottom() - self._jump.height() - 12)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._colours = Colours.for_palette(self.palette())
            self.rerender()

    # --- what the window calls ------------------------------------------------------------
    def show_user(
        self, turn_id: str, text: str, *, final: bool, at: float | None = None, spoke_at: float | None = None
    ) -> Entry:
        """The user's words for ``turn_id``, in place if the turn is already shown.

        ``spoke_at``: when the user started speaking. Transcription often finishes after
        the reply has started; the user's row then goes above that reply, where it belongs.
        """
        entry = self._by_turn.get((EntryKind.USER, turn_id))
        if entry is not None:
            entry.text, entry.final = text, final
            self._render_body(entry)
            return entry
        entry = Entry(EntryKind.USER, text, at or time.time(), turn_id, final)
        self._by_turn[(EntryKind.USER, turn_id)] = entry
        return self._insert(entry, before=self._reply_after(spoke_at))

    def show_assistant(
        self, turn_id: str, text: str, *, final: bool, interrupted: bool = False, at: float | None = None
    ) -> Entry:
        entry = self._by_turn.get((EntryKind.ASSISTANT, turn_id))
        if entry is None:
            entry = Entry(EntryKind.ASSISTANT, text, at or time.time(), turn_id, final, interrupted)
            self._by_turn[(EntryKind.ASSISTANT, turn_id)] = entry
            return self._insert(entry)
        header_changed = entry.interrupted != interrupted
        entry.text, entry.final, entry.interrupted = text, final, interrupted
        if header_changed:
            self._render_header(entry)
        self._render_body(entry)
        return entry

    def show_tool(self, call_id: str, text: str, *, final: bool, at: float | None = None) -> Entry:
        """A tool call's compact row, updated in place from asking to its result."""
        entry = self._by_turn.get((EntryKind.TOOL, call_id))
        if entry is None:
            entry = Entry(EntryKind.TOOL, text, at or time.time(), call_id, final)
            self._by_turn[(EntryKind.TOOL, call_id)] = entry
            return self._insert(entry)
        entry.text, entry.final = text, final
        self._render_body(entry)
        return entry

    def add_note(self, kind: EntryKind, text: str, at: float | None = None) -> Entry:
        return self._insert(Entry(kind, text, at or time.time()))

    def clear_conversation(self) -> None:
        self.entries.clear()
        self._by_turn.clear()
        self.document().clear()
        self._set_following(True)

    def load(self, entries: list[Entry]) -> None:
        """Show a whole conversation at once (a saved one, or after a theme change)."""
        self.clear_conversation()
        cursor = QtGui.QTextCursor(self.document())
        cursor.beginEditBlock()
        for entry in entries:
            entry.header = entry.body = None
            self._insert(entry)
            if entry.kind in (EntryKind.USER, EntryKind.ASSISTANT, EntryKind.TOOL) and entry.turn_id is not None:
                self._by_turn[(entry.kind, entry.turn_id)] = entry
        cursor.endEditBlock()
        self.scroll_to_end()

    def rerender(self) -> None:
        self.load(list(self.entries))

    def plain_text(self) -> str:
        return self.document().toPlainText()

    def _reply_after(self, spoke_at: float | None, look_back: int = 20) -> Entry | None:
        """The first reply shown after the user started speaking, among the last rows."""
        if spoke_at is None:
            return None
        found = None
        for entry in reversed(self.entries[-look_back:]):
            if entry.at <= spoke_at:
                break
            if entry.kind == EntryKind.ASSISTANT:
                found = entry
        return found

    # --- rendering ------------------------------------------------------------------------
    def _block_format(self, kind: EntryKind, *, header: bool) -> QTextBlockFormat:
        """Side margins (your turns lean right, replies left); the bubble itself is painted."""
        fmt = QtGui.QTextBlockFormat()
        fmt.setProperty(_KIND_PROPERTY, kind.value)
        fmt.setProperty(_HEADER_PROPERTY, header)
        bubble = kind in _BUBBLE_KINDS
        if bubble:
            fmt.setIndent(1)  # with the document's indent width: padding inside the bubble
        if kind == EntryKind.USER:
            fmt.setLeftMargin(64)
        elif kind == EntryKind.ASSISTANT:
            fmt.setRightMargin(64)
        if bubble:
            fmt.setRightMargin(fmt.rightMargin() + _PADDING)
            # Block margins collapse, and the bubble reaches _PADDING beyond the text.
            fmt.setTopMargin(_GAP + 2 * _PADDING if header else 0)
            fmt.setBottomMargin(0 if header else _PADDING)
        else:
            fmt.setTopMargin(_GAP + _PADDING)
        return fmt

    def warm_up(self) -> None:
        """Pay PySide's one-time cost of wrapping the viewport now, not at the first message.

        The first time PySide wraps a C++-made plain QWidget (QTextEdit's own viewport), it
        creates every QtWidgets class to find the type: 10-16 ms, measured. So nothing
        before the window's first paint asks for the viewport (an empty transcript paints
        no bubbles, a hidden button is not placed), and start-up calls this after it.
        """
        self.viewport()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Rounded, tinted bubbles behind each turn, then the text on top."""
        if not self.entries:
            super().paintEvent(event)
            return
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        layout = self.document().documentLayout()
        offset_x = self.horizontalScrollBar().value()
        offset_y = self.verticalScrollBar().value()
        visible = event.rect().translated(offset_x, offset_y)
        block = self.cursorForPosition(event.rect().topLeft()).block()
        while block.isValid() and block.previous().isValid() and block.blockFormat().property(_HEADER_PROPERTY) is False:
            block = block.previous()  # start at the header of a turn cut by the top edge
        while block.isValid():
            header_rect = layout.blockBoundingRect(block)
            if header_rect.top() > visible.bottom():
                break
            fmt = block.blockFormat()
            kind = fmt.property(_KIND_PROPERTY)
            if fmt.property(_HEADER_PROPERTY) and kind in _BUBBLE_TINTS:
                body = block.next()
                body_rect = layout.blockBoundingRect(body) if body.isValid() else header_rect
                # Layout positions are content tops (margins collapse between blocks), so
                # the bubble is measured from the text and grown by the padding.
                right = self.document().textWidth() - self.document().documentMargin() - fmt.rightMargin()
                rect = QRectF(
                    header_rect.left() + fmt.leftMargin(),
                    header_rect.top() - _PADDING,
                    right + _PADDING - header_rect.left() - fmt.leftMargin(),
                    body_rect.bottom() - header_rect.top() + 2 * _PADDING,
                ).translated(-offset_x, -offset_y)
                painter.setBrush(getattr(self._colours, _BUBBLE_TINTS[kind]))
                painter.drawRoundedRect(rect, 8, 8)
                block = body
            block = block.next()
        painter.end()
        super().paintEvent(event)

    def _header_parts(self, entry: Entry) -> list[tuple[str, QTextCharFormat]]:
        colours = self._colours
        name = QtGui.QTextCharFormat()
        name.setFontWeight(QtGui.QFont.Weight.Bold)
        name.setForeground({
            EntryKind.USER: colours.user,
            EntryKind.ASSISTANT: colours.assistant,
            EntryKind.ERROR: colours.error,
            EntryKind.WARNING: colours.warning,
            EntryKind.NOTICE: colours.muted,
        }[entry.kind])
        stamp = QtGui.QTextCharFormat()
        stamp.setForeground(colours.muted)
        parts = [(ROLE_NAMES[entry.kind], name), (f"  {_clock(entry.at)}", stamp)]
        if entry.earlier:  # said in an earlier session: the day tells when
            earlier = QtGui.QTextCharFormat(stamp)
            earlier.setFontItalic(True)
            parts.append((f"  · earlier, {time.strftime('%d %b', time.localtime(entry.at))}", earlier))
        if entry.interrupted:
            tag = QtGui.QTextCharFormat()
            tag.setForeground(colours.warning)
            tag.setFontItalic(True)
            parts.append(("  · interrupted", tag))
        return parts

    def _body_parts(self, entry: Entry) -> list[tuple[str, QTextCharFormat]]:
        colours = self._colours
        fmt = QtGui.QTextCharFormat()
        fmt.setForeground(self.palette().color(QPalette.ColorRole.Text))
        text = entry.text
        if entry.kind == EntryKind.USER and not text.strip():
            fmt.setForeground(colours.muted)
            fmt.setFontItalic(True)
            text = "(spoken; no transcript)" if entry.final else "…"
        elif entry.kind == EntryKind.USER and not entry.final:
            fmt.setForeground(colours.muted)
        elif entry.kind == EntryKind.ERROR:
            fmt.setForeground(colours.error)
        elif entry.kind in (EntryKind.NOTICE, EntryKind.WARNING):
            fmt.setForeground(colours.muted if entry.kind == EntryKind.NOTICE else colours.warning)
            fmt.setFontItalic(True)
        elif entry.kind == EntryKind.TOOL:
            fmt.setForeground(colours.muted)
            fmt.setFontPointSize(max(7.0, self.font().pointSizeF() - 1))
            text = "⚙ " + text
        parts = [(text.replace("\r\n", "\n").replace("\n", LINE_SEPARATOR), fmt)]
        if entry.kind == EntryKind.ASSISTANT and not entry.final:
            caret = QtGui.QTextCharFormat()
            caret.setForeground(colours.assistant)
            parts.append((" ▍", caret))
        return parts

    def _insert(self, entry: Entry, before: Entry | None = None) -> Entry:
        """Add the entry's blocks at the end, or just above ``before``."""
        document = self.document()
        cursor = QtGui.QTextCursor(document)
        anchor = before.header if before is not None else None
        if anchor is not None and anchor.isValid() and anchor.previous().isValid():
            cursor = QtGui.QTextCursor(anchor.previous())
            cursor.movePosition(QtGui.QTextCursor.MoveOperation.EndOfBlock)
            reuse_first_block = False
            index = self.entries.index(before)  # type: ignore[arg-type]
        else:
            cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
            reuse_first_block = document.isEmpty()
            index = len(self.entries)
        if entry.kind in _BUBBLE_KINDS:
            self._start_block(cursor, reuse_first_block, self._block_format(entry.kind, header=True))
            entry.header = cursor.block()
            for text, fmt in self._header_parts(entry):
                cursor.insertText(text, fmt)
            reuse_first_block = False
        self._start_block(cursor, reuse_first_block, self._block_format(entry.kind, header=False))
        entry.body = cursor.block()
        for text, fmt in self._body_parts(entry):
            cursor.insertText(text, fmt)
        self.entries.insert(index, entry)
        return entry

    @staticmethod
    def _start_block(cursor: QTextCursor, reuse_empty_first_block: bool, fmt: QTextBlockFormat) -> None:
        if reuse_empty_first_block:
            cursor.setBlockFormat(fmt)
        else:
            cursor.insertBlock(fmt)

    @staticmethod
    def _replace_block(block: QTextBlock, parts: list[tuple[str, QTextCharFormat]]) -> None:
        cursor = QtGui.QTextCursor(block)
        cursor.movePosition(QtGui.QTextCursor.MoveOperation.EndOfBlock, QtGui.QTextCursor.MoveMode.KeepAnchor)
        cursor.beginEditBlock()
        cursor.removeSelectedText()
        for text, fmt in parts:
            cursor.insertText(text, fmt)
        cursor.endEditBlock()

    def _render_body(self, entry: Entry) -> None:
        if entry.body is not None and entry.body.isValid():
            self._replace_block(entry.body, self._body_parts(entry))

    def _render_header(self, entry: Entry) -> None:
        if entry.header is not None and entry.header.isValid():
            self._replace_block(entry.header, self._header_parts(entry))
