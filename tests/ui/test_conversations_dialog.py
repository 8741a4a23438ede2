"""The conversations dialog: the list's columns, search that opens at the matching turn,
rename, delete to the trash (or for good after a confirmation), and a big library listed
and searched by the worker thread while the window's loop keeps running."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from azassist.core.library import INDEX_NAME, Library
from azassist.core.transcript import ConversationWriter, TurnRecord, TurnUsage, read_conversation
from azassist.ui.conversations import ConversationsDialog


def _write(directory: Path, texts: list[str], started: float = 1_700_000_000.0) -> Path:
    with ConversationWriter(directory, {"deployment": "gpt-realtime"}) as writer:
        for index, text in enumerate(texts):
            role = "user" if index % 2 == 0 else "assistant"
            writer.append(TurnRecord(role=role, text=text, id=f"t{index}", started_at=started + 3 * index,  # type: ignore[arg-type]
                                     ended_at=started + 3 * index + 2,
                                     usage=TurnUsage(1000, 2000, 200, 800, 0, 0, 400, 1600) if role == "assistant" else None))
    return writer.path


@pytest.fixture
def trash_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real send2trash with a trash of the test's own (it reads XDG_DATA_HOME on import)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path))  # the home trash is used for files on HOME's device only
    for name in [m for m in sys.modules if m == "send2trash" or m.startswith("send2trash.")]:
        monkeypatch.delitem(sys.modules, name)
    return tmp_path / "xdg" / "Trash" / "files"


def _dialog(qtbot: QtBot, directory: Path) -> ConversationsDialog:
    dialog = ConversationsDialog(directory)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _cells(dialog: ConversationsDialog, row: int) -> list[str]:
    return [dialog.model.index(row, column).data() for column in range(dialog.model.columnCount())]


def test_list_columns_and_search_opens_at_the_matching_turn(qtbot: QtBot, tmp_path: Path) -> None:
    filler = [f"small talk number {i}" for i in range(40)]
    target = _write(tmp_path, ["Plan a trip", *filler, "The ferry to Porto Santo leaves at nine", "thanks"])
    _write(tmp_path, ["Another day", "Nothing about boats"], started=1_700_100_000.0)
    dialog = _dialog(qtbot, tmp_path)
    assert dialog.list.count() == 2  # a few files: read at once
    title, date, turns, duration, cost = _cells(dialog, 1)
    assert (title, turns, duration) == ("Plan a trip", "43", "2:08")
    assert date == time.strftime("%Y-%m-%d %H:%M", time.localtime(read_conversation(target).started_at))
    assert cost == "$2.84"  # 21 replies of 200/800 in, 400/1,600 out (text/audio) at the gpt-realtime prices
    with qtbot.waitSignal(dialog.searchFinished, timeout=10_000) as finished:
        dialog.search("PORTO ferry")
    assert finished.args == [1]
    [hit] = dialog.hits
    assert (hit.path, hit.turn_index, hit.role) == (target, 41, "assistant")
    assert dialog.results.count() == 1 and "Porto Santo" in dialog.results.item(0).text()
    entry = dialog.current_entry
    assert entry is not None and entry.text.startswith("The ferry to Porto Santo")
    assert len(dialog.reader.extraSelections()) == 2  # both words marked
    assert dialog.reader.verticalScrollBar().value() > 0  # opened at the turn, not at the top
    with qtbot.waitSignal(dialog.searchFinished, timeout=10_000) as finished:
        dialog.search("no such words anywhere")
    assert finished.args == [0] and dialog.status.text() == "No matches"
    dialog.search("")
    assert dialog.left.currentWidget() is dialog.list and dialog.list.count() == 2


def test_rename_and_delete_to_the_trash(qtbot: QtBot, tmp_path: Path, trash_home: Path) -> None:
    conversations = tmp_path / "conversations"
    older = _write(conversations, ["first words", "reply"])
    newer = _write(conversations, ["newest words", "reply"], started=1_700_100_000.0)
    dialog = _dialog(qtbot, conversations)
    assert dialog.selected_path() == newer
    assert dialog.rename_selected("Boat names") == "Boat names"
    assert _cells(dialog, 0)[0] == "Boat names" and read_conversation(newer).title == "Boat names"
    assert dialog.delete_selected(confirm=lambda path: pytest.fail("a trash exists: no question")) is True
    assert not newer.exists() and (trash_home / newer.name).exists()
    assert dialog.list.count() == 1 and dialog.selected_path() == older
    assert "Moved to the trash" in dialog.status.text()


def test_without_a_trash_delete_asks_first(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conversations = tmp_path / "conversations"
    path = _write(conversations, ["delete me"])
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the trash folder would be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))  # no trash can be made there
    monkeypatch.setenv("HOME", str(tmp_path))  # and the file is on HOME's device: that trash is the one tried
    for name in [m for m in sys.modules if m == "send2trash" or m.startswith("send2trash.")]:
        monkeypatch.delitem(sys.modules, name)
    dialog = _dialog(qtbot, conversations)
    asked: list[Path] = []

    def say_no(p: Path) -> bool:
        asked.append(p)
        return False

    assert dialog.delete_selected(confirm=say_no) is False  # the user said no
    assert asked == [path] and path.exists()
    assert dialog.delete_selected(confirm=lambda p: True) is True
    assert not path.exists() and dialog.list.count() == 0 and dialog.empty.isVisibleTo(dialog)


def test_a_big_library_is_read_and_searched_by_the_worker(qtbot: QtBot, tmp_path: Path) -> None:
    for number in range(60):
        _write(tmp_path, [f"conversation {number} about topic{number % 7}", "an answer"] * 5, started=1_700_000_000.0 + number)
    # A big index (as 2,000 conversations leave) is loaded on the worker, never inline.
    Library(tmp_path).refresh()
    index = tmp_path / INDEX_NAME
    with index.open("a", encoding="utf-8") as handle:
        handle.write(" " * 1_100_000 + "\n")
    dialog = ConversationsDialog(tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 0 and "Reading" in dialog.status.text()  # not yet: the worker reads
    with qtbot.waitSignal(dialog.listed, timeout=20_000) as listed:
        pass
    assert listed.args == [60]
    with qtbot.waitSignal(dialog.searchFinished, timeout=20_000) as finished:
        dialog.search("topic3")
    assert finished.args == [9 * 5]  # 9 conversations, 5 user turns each
    assert all("topic3" in hit.snippet for hit in dialog.hits)
