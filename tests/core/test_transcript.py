"""Conversation files: durable appends, tolerant reading, listing and exports."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from azassist.core.secrets import Secret
from azassist.core.transcript import (
    ConversationWriter,
    TurnRecord,
    TurnUsage,
    export_json,
    export_markdown,
    export_to,
    list_conversations,
    read_conversation,
)


def _write(directory: Path, texts: list[tuple[str, str]], **header: object) -> Path:
    with ConversationWriter(directory, {"deployment": "gpt-realtime", **header}) as writer:
        for index, (role, text) in enumerate(texts):
            writer.append(TurnRecord(role=role, text=text, id=f"t{index}", started_at=1000.0 + index))  # type: ignore[arg-type]
        return writer.path


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    with ConversationWriter(tmp_path, {"deployment": "gpt-realtime", "voice": "marin"}) as writer:
        writer.append(TurnRecord(role="user", text="Hello there", id="u1", started_at=10.0, source="speech"))
        writer.append(
            TurnRecord(
                role="assistant", text="Hi! How can", id="r1", interrupted=True, started_at=11.0,
                latency_s=0.42, usage=TurnUsage(120, 40),
            )
        )
    conversation = read_conversation(writer.path)
    assert conversation.header["settings"]["voice"] == "marin"
    user, reply = conversation.turns
    assert (user.role, user.text, user.source) == ("user", "Hello there", "speech")
    assert (reply.interrupted, reply.latency_s, reply.usage) == (True, 0.42, TurnUsage(120, 40))
    assert conversation.title == "Hello there"
    assert conversation.total_tokens == (120, 40)
    assert oct(writer.path.stat().st_mode & 0o777) == oct(0o600)


def test_usage_arriving_after_its_turn_is_merged(tmp_path: Path) -> None:
    with ConversationWriter(tmp_path, {}) as writer:
        writer.append(TurnRecord(role="assistant", text="cut", id="r1", interrupted=True))
        writer.append_usage("r1", TurnUsage(7, 3))
    assert read_conversation(writer.path).turns[0].usage == TurnUsage(7, 3)


def test_a_torn_last_line_loses_only_that_turn(tmp_path: Path) -> None:
    path = _write(tmp_path, [("user", "one"), ("assistant", "two")])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"type":"turn","role":"user","text":"thr')  # killed mid-write
    assert [t.text for t in read_conversation(path).turns] == ["one", "two"]


def test_each_append_is_on_disk_before_append_returns(tmp_path: Path) -> None:
    with ConversationWriter(tmp_path, {}) as writer:
        writer.append(TurnRecord(role="user", text="first"))
        # Read through a separate handle while the writer is still open.
        lines = writer.path.read_text(encoding="utf-8").splitlines()
        assert json.loads(lines[-1])["text"] == "first"


def test_known_secrets_never_reach_the_file(tmp_path: Path) -> None:
    key = Secret("sk-azassist-test-key-0123456789")
    path = _write(tmp_path, [("user", f"my key is {key.reveal()}")])
    assert key.reveal() not in path.read_text(encoding="utf-8")


def test_listing_newest_first_and_skipping_strangers(tmp_path: Path) -> None:
    older = _write(tmp_path, [("user", "older talk")])
    newer = _write(tmp_path, [("user", "newer talk"), ("assistant", "yes")])
    header = json.loads(newer.read_text().splitlines()[0])
    header["started_at"] += 10
    lines = newer.read_text().splitlines()
    newer.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    (tmp_path / "notes.jsonl").write_text('{"hello": 1}\n')
    summaries = list_conversations(tmp_path)
    assert [s.path for s in summaries] == [newer, older]
    assert (summaries[0].title, summaries[0].turn_count, summaries[0].deployment) == ("newer talk", 2, "gpt-realtime")
    assert list_conversations(tmp_path / "missing") == []


def test_exports(tmp_path: Path) -> None:
    path = _write(tmp_path, [("user", "What is 2+2?"), ("assistant", "Four.")], voice="cedar")
    conversation = read_conversation(path)
    markdown = export_markdown(conversation)
    assert "**You**" in markdown and "What is 2+2?" in markdown and "Four." in markdown
    assert "cedar" in markdown
    document = json.loads(export_json(conversation))
    assert [t["text"] for t in document["turns"]] == ["What is 2+2?", "Four."]
    assert export_to(conversation, tmp_path / "out.md").read_text() == markdown
    assert json.loads(export_to(conversation, tmp_path / "out.json").read_text())["settings"]["voice"] == "cedar"
    with pytest.raises(ValueError):
        export_to(conversation, tmp_path / "out.txt")


def test_not_a_conversation(tmp_path: Path) -> None:
    stranger = tmp_path / "x.jsonl"
    stranger.write_text('{"type": "turn", "role": "user", "text": "hi"}\n')
    with pytest.raises(ValueError):
        read_conversation(stranger)


def test_a_turn_is_on_disk_when_append_returns_even_if_the_process_is_killed(tmp_path: Path) -> None:
    """The line reaches the operating system in ``append`` (the fsync follows on a thread of
    its own): a process killed right after it loses nothing."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from azassist.core.transcript import ConversationWriter, TurnRecord\n"
        "writer = ConversationWriter(Path(sys.argv[1]), {})\n"
        "writer.append(TurnRecord(role='assistant', text='kept', id='a1', started_at=1.0))\n"
        "print(writer.path, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == -signal.SIGKILL
    conversation = read_conversation(Path(result.stdout.strip()))
    assert [turn.text for turn in conversation.turns] == ["kept"]


def test_the_fsync_follows_on_its_own_thread_and_close_waits_for_it(tmp_path: Path) -> None:
    writer = ConversationWriter(tmp_path, {})
    writer.append(TurnRecord(role="user", text="hello", id="u1", started_at=1.0))
    assert [turn.text for turn in read_conversation(writer.path).turns] == ["hello"]  # readable at once
    deadline = time.monotonic() + 30  # a bound for a hang, not a speed
    while writer.unsynced and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not writer.unsynced
    writer.append(TurnRecord(role="assistant", text="hi", id="a1", started_at=2.0))
    writer.close()
    assert not writer.unsynced
    assert [turn.text for turn in read_conversation(writer.path).turns] == ["hello", "hi"]
