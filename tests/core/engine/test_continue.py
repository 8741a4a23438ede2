"""Continuing a saved conversation, and replies the service sends as text in a voice session.

The local server's ``text_after_history`` switch answers in text once assistant history
items were loaded, like the real service; the engine is the real one, over a real socket.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from azassist.core.events import Notice, Warning
from azassist.core.recap import RECAP_HEADING
from azassist.core.transcript import ConversationWriter, TurnRecord, read_conversation
from azassist.simulator.faults import KEEP, TamperContext

from .conftest import Harness, harness, until

pytestmark = [pytest.mark.timeout(60)]

EARLIER = [
    ("user", "My cat is called Pixel."),
    ("assistant", "Pixel is a lovely name for a cat."),
    ("user", "She likes boxes."),
    ("assistant", "Most cats do; boxes feel safe."),
]


def saved_conversation(directory: Path, turns: list[tuple[str, str]] = EARLIER) -> Path:
    with ConversationWriter(directory, {"deployment": "gpt-realtime"}) as writer:
        for number, (role, text) in enumerate(turns):
            writer.append(TurnRecord(role=role, text=text, id=f"old{number}"))  # type: ignore[arg-type]
        return writer.path


async def sent_instructions(h: Harness, count: int = 1) -> list[str]:
    """The instructions of every session.update so far, once there are ``count``."""

    def found() -> list[str]:
        updates = h.sent_to_server("session.update")
        return [u["session"]["instructions"] for u in updates if "instructions" in u["session"]]

    return await until(lambda: len(found()) >= count and found(), 10, "instructions sent")


def modalities_sent(h: Harness) -> list[str]:
    updates = h.sent_to_server("session.update")
    return next(u["session"]["output_modalities"] for u in updates if "output_modalities" in u["session"])


def heard_since(h: Harness, start: int) -> np.ndarray:
    return h.speaker.heard[start:]


@pytest.mark.asyncio
async def test_recap_keeps_replies_spoken_and_appends_to_the_same_file(tmp_path: Path) -> None:
    path = saved_conversation(tmp_path)
    async with harness(
        pace=0, audio_pace=8, conversations_dir=tmp_path, connect=False,
        server_kwargs={"text_after_history": True},
    ) as h:
        await h.engine.continue_conversation(path)
        assert h.engine.earlier_turns == 4 and [t.text for t in h.engine.turns][-1] == EARLIER[-1][1]
        await h.engine.connect()
        await h.connected()
        [instructions] = await sent_instructions(h)
        assert RECAP_HEADING in instructions and "User: She likes boxes." in instructions
        assert instructions.startswith(h.engine.settings.model.instructions)
        h.server.scripted.queue_reply("Pixel would love a new box.")
        h.engine.send_text("What should I buy her?")
        [reply] = await h.replies(1)
        assert reply.text == "Pixel would love a new box."
        # no history items, so the service stayed in audio
        assert not [e for e in h.sent_to_server("conversation.item.create") if e["item"].get("role") == "assistant"]
        assert h.server.sent.of_type("response.output_audio.delta")
        assert np.abs(h.speaker.heard).max() > 1000
        # the recap survives a reconnect: it is in the instructions again
        await h.engine.reconnect()
        await h.connected()
        assert RECAP_HEADING in (await sent_instructions(h, 2))[-1]
        assert not h.of(Notice)
    conversation = read_conversation(path)
    assert [t.text for t in conversation.turns] == [text for _, text in EARLIER] + [
        "What should I buy her?", "Pixel would love a new box.",
    ]
    assert conversation.resumed_at == (4,)
    assert len(list(tmp_path.glob("*.jsonl"))) == 1


@pytest.mark.asyncio
async def test_exact_history_loads_items_and_speaks_text_replies_with_tts(tmp_path: Path) -> None:
    path = saved_conversation(tmp_path)
    async with harness(
        pace=0, audio_pace=8, conversations_dir=tmp_path, connect=False,
        server_kwargs={"text_after_history": True},
        model={"resume_history": "exact", "history_items": 3},
        connection={"tts_deployment": "tts"},
    ) as h:
        await h.engine.continue_conversation(path)
        [notice] = h.of(Notice)
        assert "last 3 turns are loaded" in notice.message and "text-to-speech" in notice.message
        await h.engine.connect()
        await h.connected()
        created = [e["item"] for e in h.sent_to_server("conversation.item.create")]
        assert [c["content"][0].get("text") for c in created] == [text for _, text in EARLIER[1:]]
        assert modalities_sent(h) == ["text"]
        assert RECAP_HEADING not in (await sent_instructions(h))[0]
        h.server.scripted.queue_reply("A cardboard castle.")
        h.engine.send_text("And a gift idea?")
        [reply] = await h.replies(1)
        assert reply.text == "A cardboard castle."
        assert not h.server.sent.of_type("response.output_audio.delta")
        assert np.abs(h.speaker.heard).max() > 1000  # spoken by the TTS deployment
        assert not h.of(Warning)
    assert read_conversation(path).turns[-1].text == "A cardboard castle."


@pytest.mark.asyncio
async def test_exact_history_without_tts_falls_back_to_the_recap(tmp_path: Path) -> None:
    path = saved_conversation(tmp_path)
    async with harness(
        pace=0, conversations_dir=tmp_path, connect=False, model={"resume_history": "exact"},
    ) as h:
        await h.engine.continue_conversation(path)
        [notice] = h.of(Notice)
        assert "needs a text-to-speech deployment" in notice.message and "recap" in notice.message
        await h.engine.connect()
        await h.connected()
        assert RECAP_HEADING in (await sent_instructions(h))[0]
        assert modalities_sent(h) == ["audio"]
        assert not h.sent_to_server("conversation.item.create")


@pytest.mark.asyncio
async def test_a_partial_history_load_is_reported(tmp_path: Path) -> None:
    path = saved_conversation(tmp_path)

    def lose_assistant_acks(event: dict[str, Any], _: TamperContext) -> list[Any]:
        item = event.get("item") or {}
        if event.get("type") == "conversation.item.added" and item.get("role") == "assistant":
            return []  # the service never acknowledges these
        return [KEEP]

    async with harness(
        pace=0, audio_pace=8, conversations_dir=tmp_path, connect=False,
        model={"resume_history": "exact"}, connection={"tts_deployment": "tts"},
    ) as h:
        h.server.faults.tamper_next_session(lose_assistant_acks)
        await h.engine.continue_conversation(path)
        await h.engine.connect()
        await h.connected()
        [warning] = await until(lambda: h.of(Warning), 20, "the partial history warning")
        assert "Only 2 of 4 earlier messages reached the model" in warning.message


async def _reply_after_replayed_history(h: Harness) -> int:
    """A spoken reply, then a reconnect: LiveKit replays the conversation as text items, and
    the service (like the real one) answers the next message in text."""
    h.server.scripted.queue_reply("First, spoken.")
    h.engine.send_text("hello")
    await h.replies(1)
    heard = len(h.speaker.heard)
    await h.engine.reconnect()
    await h.connected()
    h.server.scripted.queue_reply("Second, sent as text.")
    h.engine.send_text("again")
    replies = await h.replies(2)
    assert replies[1].text == "Second, sent as text."
    assert h.server.sent.of_type("response.output_text.delta")
    return heard


@pytest.mark.asyncio
async def test_a_text_reply_in_voice_mode_is_spoken_by_the_tts_fallback() -> None:
    async with harness(
        pace=0, audio_pace=8, server_kwargs={"text_after_history": True}, connection={"tts_deployment": "tts"},
    ) as h:
        before = await _reply_after_replayed_history(h)
        await until(lambda: len(h.speaker.heard) > before + 2400, 10, "the text reply to be spoken")
        assert np.abs(heard_since(h, before)).max() > 1000
        assert not h.of(Notice)


@pytest.mark.asyncio
async def test_a_text_reply_in_voice_mode_without_tts_is_shown_and_explained() -> None:
    async with harness(pace=0, audio_pace=8, server_kwargs={"text_after_history": True}) as h:
        await _reply_after_replayed_history(h)
        [notice] = await until(lambda: h.of(Notice), 10, "the notice")
        assert "shown but not spoken" in notice.message and "text-to-speech deployment" in notice.message


@pytest.mark.asyncio
async def test_talk_continue_appends_to_the_file_with_the_recap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from azassist.core.paths import resolve_paths
    from azassist.core.talk import main as talk_main
    from azassist.simulator import LocalRealtimeServer

    saved = saved_conversation(tmp_path)
    key = "talk-continue-key-" + "5" * 16
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", key)
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    config = tmp_path / "config"
    async with LocalRealtimeServer(api_key=key, responder="scripted", pace=0, text_after_history=True) as server:
        server.scripted.queue_reply("Pixel says hello.")
        status = await asyncio.to_thread(
            talk_main,
            ["--endpoint", server.endpoint, "--deployment", "gpt-realtime", "--continue", str(saved),
             "--say", "How is my cat?", "--idle-seconds", "0.3", "--quiet"],
            resolve_paths(config).ensure(),
        )
        assert status == 0
        instructions = [u.event["session"]["instructions"] for u in server.received.of_type("session.update")
                        if u.event and "instructions" in u.event["session"]]
        assert instructions and "Assistant: Most cats do; boxes feel safe." in instructions[0]
    conversation = read_conversation(saved)
    assert [t.text for t in conversation.turns[-2:]] == ["How is my cat?", "Pixel says hello."]
    assert conversation.resumed_at == (4,)
    assert not list((config / "data" / "conversations").glob("*.jsonl"))  # no second file


def test_talk_continue_with_a_bad_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from azassist.core.paths import resolve_paths
    from azassist.core.talk import main as talk_main

    (tmp_path / "not.jsonl").write_text('{"type": "header"}\n')
    for path in (tmp_path / "missing.jsonl", tmp_path / "not.jsonl"):
        status = talk_main(["--demo", "--continue", str(path), "--say", "hi"], resolve_paths(tmp_path / "c").ensure())
        assert status == 2
        assert f"Cannot continue {path}" in capsys.readouterr().err
