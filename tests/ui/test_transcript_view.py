"""The transcript renders turns in place, keeps order, follows the conversation and copies."""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from azassist.ui.transcript_view import EntryKind, TranscriptView


def make_view(qtbot: QtBot) -> TranscriptView:
    view = TranscriptView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    return view


def test_partial_text_is_replaced_in_place_by_the_final(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_user("u1", "what's the", final=False)
    view.show_user("u1", "what's the weather", final=False)
    view.show_assistant("a1", "It is", final=False)
    view.show_user("u1", "what's the weather like?", final=True)
    view.show_assistant("a1", "It is sunny.", final=True)
    assert [(e.kind, e.text, e.final) for e in view.entries] == [
        (EntryKind.USER, "what's the weather like?", True),
        (EntryKind.ASSISTANT, "It is sunny.", True),
    ]
    text = view.plain_text()
    assert "what's the weather like?" in text and "It is sunny." in text
    assert "weather\n" not in text and "▍" not in text  # no stale partial, no streaming caret


def test_streaming_reply_shows_a_caret_until_final(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_assistant("a1", "Once upon", final=False)
    assert view.plain_text().endswith("Once upon ▍")
    view.show_assistant("a1", "Once upon a time.", final=True)
    assert view.plain_text().endswith("Once upon a time.")


def test_late_user_words_go_above_the_reply_they_started(qtbot: QtBot) -> None:
    """Transcription often lands after the reply started: the user's row goes above it."""
    view = make_view(qtbot)
    view.show_user("u1", "first question", final=True)
    view.show_assistant("a1", "first answer", final=True)
    spoke_at = time.time()
    time.sleep(0.01)
    view.show_assistant("a2", "second answer, already streaming", final=False)
    view.show_user("u2", "second question", final=True, spoke_at=spoke_at)
    assert [e.text for e in view.entries] == [
        "first question", "first answer", "second question", "second answer, already streaming",
    ]
    lines = view.plain_text().splitlines()
    assert lines.index("second question") < lines.index("second answer, already streaming ▍")
    # Later updates still land in the right rows.
    view.show_assistant("a2", "second answer.", final=True)
    assert view.plain_text().splitlines()[-1] == "second answer."


def test_interrupted_reply_is_marked_and_empty_turns_say_so(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_assistant("a1", "Let me tell you a long", final=True, interrupted=True)
    view.show_user("u1", "", final=True)
    text = view.plain_text()
    assert "· interrupted" in text
    assert "(spoken; no transcript)" in text


def test_errors_and_notices_appear_inline(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_note(EntryKind.ERROR, "The endpoint rejected your API key.")
    view.add_note(EntryKind.NOTICE, "Voice applies on next connect.")
    assert [e.kind for e in view.entries] == [EntryKind.ERROR, EntryKind.NOTICE]
    assert "Error" in view.plain_text() and "Voice applies on next connect." in view.plain_text()


def test_timestamps_are_shown(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    at = time.mktime((2026, 1, 2, 14, 5, 9, 0, 0, -1))
    view.show_user("u1", "hi", final=True, at=at)
    assert "14:05:09" in view.plain_text()


def test_follows_new_text_until_scrolled_up_then_resumes_at_the_bottom(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    bar = view.verticalScrollBar()
    for n in range(60):
        view.show_user(f"u{n}", f"question {n}", final=True)
        view.show_assistant(f"a{n}", f"answer {n} " * 8, final=True)
    QApplication.processEvents()
    assert bar.maximum() > 0 and bar.value() == bar.maximum() and view.following
    middle = bar.maximum() // 2
    bar.setValue(middle)  # the user scrolls up to read
    assert not view.following
    view.show_assistant("late", "a new reply arrives", final=True)
    QApplication.processEvents()
    assert bar.value() == middle < bar.maximum()  # left where the user is reading
    assert view._jump.isVisible()
    view.scroll_to_end()  # "Jump to latest" (or scrolling down by hand)
    assert view.following and not view._jump.isVisible()
    view.show_assistant("later", "and another one " * 10, final=True)
    QApplication.processEvents()
    assert bar.value() == bar.maximum()


def test_the_jump_button_keeps_to_the_bottom_right_corner_while_shown(qtbot: QtBot) -> None:
    """Placed when shown and on every resize while shown (not while hidden: see warm_up)."""
    view = make_view(qtbot)
    for n in range(60):
        view.show_assistant(f"a{n}", f"answer {n} " * 8, final=True)
    QApplication.processEvents()
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum() // 2)
    assert view._jump.isVisible()
    for width, height in ((700, 500), (520, 330)):
        view.resize(width, height)
        QApplication.processEvents()
        assert view._jump.geometry().bottomRight() == view.viewport().geometry().bottomRight() - QPoint(13, 13)


def test_an_empty_transcript_paints_its_plain_background(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    image = view.grab().toImage()
    assert image.pixelColor(image.width() // 2, image.height() // 2) == view.palette().color(QPalette.ColorRole.Base)
    view.warm_up()
    view.show_user("u1", "hello", final=True)
    assert not view.grab().toImage().isNull()


def test_text_is_selectable_and_copies_to_the_clipboard(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_user("u1", "copy me please", final=True)
    view.show_assistant("a1", "copied reply", final=True)
    view.selectAll()
    view.copy()
    copied = QGuiApplication.clipboard().text()
    assert "copy me please" in copied and "copied reply" in copied


def test_thousands_of_turns_stay_one_document_and_update_in_place(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    for n in range(2000):
        view.show_user(f"u{n}", f"question number {n}", final=True)
        view.show_assistant(f"a{n}", f"answer number {n}", final=True)
    assert len(view.entries) == 4000
    assert view.document().blockCount() == 8000  # two blocks per turn, no widget per line
    view.show_assistant("a1999", "the last answer, corrected", final=True)
    view.show_user("u0", "the first question, corrected", final=True)
    lines = view.plain_text().splitlines()
    assert lines[1] == "the first question, corrected" and lines[-1] == "the last answer, corrected"
    assert lines[3] == "answer number 0"


def test_a_palette_change_repaints_without_losing_text(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.show_user("u1", "before the theme change", final=False)
    before = view.plain_text()
    palette = view.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#101010"))
    view.setPalette(palette)
    assert view.plain_text() == before
    view.show_user("u1", "after the theme change", final=True)  # handles survive the re-render
    assert view.plain_text().splitlines()[-1] == "after the theme change"


def test_the_user_property_number_is_qts() -> None:
    """The transcript names QTextFormat's first user property by number (start-up)."""
    from PySide6.QtGui import QTextFormat

    from azassist.ui.transcript_view import _USER_PROPERTY

    assert QTextFormat.Property.UserProperty.value == _USER_PROPERTY
