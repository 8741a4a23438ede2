"""The conversation library: index, list, search to the turn, rename, delete, retention."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from azassist.core.library import INDEX_NAME, Library, apply_retention, expired
from azassist.core.transcript import ConversationWriter, TurnRecord, TurnUsage, read_conversation


def _write(directory: Path, texts: list[str], started: float = 1000.0, deployment: str = "gpt-realtime") -> Path:
    """A conversation alternating user/assistant turns, 2 s per turn."""
    with ConversationWriter(directory, {"deployment": deployment}) as writer:
        for index, text in enumerate(texts):
            role = "user" if index % 2 == 0 else "assistant"
            writer.append(TurnRecord(role=role, text=text, id=f"t{index}", started_at=started + 2 * index,  # type: ignore[arg-type]
                                     ended_at=started + 2 * index + 1,
                                     usage=TurnUsage(10, 20, 2, 8, 0, 0, 5, 15) if role == "assistant" else None))
    return writer.path


def test_list_shows_title_date_turns_duration_and_usage(tmp_path: Path) -> None:
    path = _write(tmp_path, ["  Plan a   trip to Lisbon  ", "Sure.", "In May", "Lovely."])
    library = Library(tmp_path)
    report = library.refresh()
    assert (report.total, report.read) == (1, 1)
    [info] = library.conversations()
    assert info.path == path and info.title == "Plan a trip to Lisbon"
    assert info.turn_count == 4 and info.duration_s == 7.0
    assert info.usage == TurnUsage(20, 40, 4, 16, 0, 0, 10, 30)
    assert info.deployment == "gpt-realtime"
    assert oct((tmp_path / INDEX_NAME).stat().st_mode & 0o777) == oct(0o600)


def test_index_reads_only_what_changed(tmp_path: Path) -> None:
    first = _write(tmp_path, ["one", "two"])
    second = _write(tmp_path, ["three", "four"])
    assert Library(tmp_path).refresh().read == 2
    fresh = Library(tmp_path)  # a new start: everything comes from the index
    assert fresh.refresh().read == 0 and len(fresh.conversations()) == 2
    with first.open("a", encoding="utf-8") as handle:  # a continued conversation grows
        handle.write(json.dumps({"type": "turn", "role": "user", "text": "five", "id": "t9"}) + "\n")
    second.unlink()
    assert fresh.pending() == 1
    report = fresh.refresh()
    assert (report.read, report.removed, report.total) == (1, 1, 1)
    assert fresh.conversations()[0].turn_count == 3
    # A torn or foreign index is only a cache: it is rebuilt.
    (tmp_path / INDEX_NAME).write_text("not json\n", encoding="utf-8")
    again = Library(tmp_path)
    assert again.refresh().read == 1


def test_search_finds_both_sides_and_points_at_the_turn(tmp_path: Path) -> None:
    older = _write(tmp_path, ["Tell me about owls", "Owls hunt at night.", "And cats?", "Cats nap a lot."], started=1000)
    newer = _write(tmp_path, ["Any NIGHT trains?", "Yes, the night train leaves at ten."], started=2000)
    library = Library(tmp_path)
    library.refresh()
    hits = library.search("night")
    assert [(h.path, h.turn_index, h.role) for h in hits] == [(newer, 0, "user"), (newer, 1, "assistant"), (older, 1, "assistant")]
    assert hits[2].turn_id == "t1" and "Owls hunt at night." in hits[2].snippet
    # Every word, in the same turn, in any case and order.
    assert [(h.path, h.turn_index) for h in library.search("train LEAVES")] == [(newer, 1)]
    assert library.search("owls cats") == []
    assert library.search("   ") == []
    # Stopping early (a newer search) returns what was found so far, here nothing.
    assert library.search("night", should_stop=lambda: True) == []


def test_search_snippet_is_short_and_around_the_word(tmp_path: Path) -> None:
    long = "word " * 200 + "needle" + " tail" * 200
    _write(tmp_path, [long])
    library = Library(tmp_path)
    library.refresh()
    [hit] = library.search("needle")
    assert "needle" in hit.snippet and len(hit.snippet) < 120 and hit.snippet.startswith("…")


def test_rename_appends_a_title_line_and_keeps_history(tmp_path: Path) -> None:
    path = _write(tmp_path, ["first words here", "reply"])
    before = path.read_text(encoding="utf-8")
    library = Library(tmp_path)
    library.refresh()
    assert library.rename(path, "  My   trip ") == "My trip"
    assert path.read_text(encoding="utf-8").startswith(before)  # nothing rewritten
    assert read_conversation(path).title == "My trip"
    assert Library(tmp_path).refresh().read == 0  # the index knows the renamed file
    fresh = Library(tmp_path)
    fresh.refresh()
    assert fresh.conversations()[0].title == "My trip"
    assert library.rename(path, "") == "first words here"  # back to the first words
    assert read_conversation(path).title == "first words here"


def _in_child(tmp_path: Path, script: str, *args: object) -> list[str]:
    """Run library code in a child process whose system trash is the test's own
    (send2trash reads XDG_DATA_HOME when imported): the real trash code, never the user's.
    HOME too: send2trash uses the home trash only for a file on the home folder's device,
    else the trash at the top of the file's own volume (a /tmp of its own, as in a fresh
    Debian root, put the tests' files in /tmp/.Trash-0)."""
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.split()


def test_delete_moves_to_the_trash(tmp_path: Path) -> None:
    conversations = tmp_path / "conversations"
    path = _write(conversations, ["delete me", "ok"])
    keep = _write(conversations, ["keep me", "ok"])
    script = (
        "import sys; from pathlib import Path; from azassist.core.library import Library\n"
        "library = Library(Path(sys.argv[1])); library.refresh()\n"
        "print(library.move_to_trash(Path(sys.argv[2])), len(library.conversations()))\n"
    )
    assert _in_child(tmp_path, script, conversations, path) == ["True", "1"]
    assert not path.exists() and keep.exists()
    assert (tmp_path / "xdg" / "Trash" / "files" / path.name).exists()
    library = Library(conversations)
    library.refresh()
    assert [c.path for c in library.conversations()] == [keep]


def test_delete_for_good_after_confirmation(tmp_path: Path) -> None:
    path = _write(tmp_path, ["gone", "yes"])
    library = Library(tmp_path)
    library.refresh()
    library.delete_permanently(path)
    assert not path.exists() and library.conversations() == []
    assert Library(tmp_path).refresh().total == 0


def test_retention_keeps_forever_or_n_days(tmp_path: Path) -> None:
    old = _write(tmp_path, ["old"])
    recent = _write(tmp_path, ["recent"])
    current = _write(tmp_path, ["the one being written"])
    now = time.time()
    os.utime(old, (now - 40 * 86_400, now - 40 * 86_400))
    os.utime(current, (now - 40 * 86_400, now - 40 * 86_400))
    assert expired(tmp_path, 0, now) == []  # keep forever
    assert expired(tmp_path, 30, now, keep=[current]) == [old]
    assert expired(tmp_path, 60, now) == []
    script = (
        "import sys; from pathlib import Path; from azassist.core.library import apply_retention\n"
        "print(*[p.name for p in apply_retention(Path(sys.argv[1]), 30, float(sys.argv[2]), keep=[Path(sys.argv[3])])])\n"
    )
    assert _in_child(tmp_path, script, tmp_path, now, current) == [old.name]
    assert not old.exists() and recent.exists() and current.exists()
    assert (tmp_path / "xdg" / "Trash" / "files" / old.name).exists()
    assert apply_retention(tmp_path, 0, now) == []
