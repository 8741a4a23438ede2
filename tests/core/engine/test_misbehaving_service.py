"""A service that misbehaves mid-conversation: the engine carries on, reconnects keeping the
conversation, or stops with plain words, and keeps every word that arrived.

Each fault is injected by the local server's tamper hooks into an otherwise normal reply
(``azassist.simulator.faults``); the seeded fuzzer in tests/robustness runs the same classes
against ``azassist talk`` at random points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from azassist.core.events import ConnectionState, Error, Warning
from azassist.core.transcript import read_conversation
from azassist.simulator.faults import Emit, RawBinary, RawText, Stall, TamperContext

from .conftest import API_KEY, Harness, harness, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]

TEXT_DELTA = "response.output_text.delta"


async def _say(h: Harness, reply: str, message: str = "hello?") -> str:
    count = len(h.finals("assistant"))
    h.server.scripted.queue_reply(reply)
    h.engine.send_text(message)
    try:
        return (await h.replies(count + 1, timeout=30))[-1].text
    except AssertionError as exc:  # say what the engine did instead
        said = [e for e in h.events if type(e).__name__ != "Levels"][-12:]
        raise AssertionError(f"{exc}; last events: {said}") from None


def _saved(h: Harness) -> list[tuple[str, str, bool]]:
    assert h.engine.conversation_path is not None
    return [(t.role, t.text, t.interrupted) for t in read_conversation(h.engine.conversation_path).turns]


async def test_a_reply_that_stops_arriving_is_kept_and_the_conversation_goes_on(tmp_path: Path) -> None:
    async with harness(
        conversations_dir=tmp_path, model={"modalities": "text"}, connection={"reply_timeout_s": 5}
    ) as h:

        def stall_after_two_words(event: dict[str, Any], context: TamperContext) -> Any:
            return [Stall()] if event["type"] == TEXT_DELTA and context.text_deltas == 2 else None

        h.server.faults.tamper_next_reply(stall_after_two_words)
        h.server.scripted.queue_reply("Alpha beta gamma delta epsilon.")
        h.engine.send_text("tell me five words")
        assert h.engine.busy
        await until(lambda: any("stopped sending a reply" in e.message for e in h.errors()), 20, "the stall to be noticed")
        stalled = next(e for e in h.errors() if "stopped sending" in e.message)
        assert not stalled.fatal and "conversation is kept" in stalled.message
        cut = h.finals("assistant")[-1]
        assert cut.interrupted and cut.text and "Alpha beta gamma delta epsilon.".startswith(cut.text)
        await h.connected(timeout=20)
        assert await _say(h, "Back.", "still there?") == "Back."
        assert not h.engine.busy
        saved = _saved(h)
        assert ("assistant", cut.text, True) in saved and saved[-1] == ("assistant", "Back.", False)
        # the new connection was given the conversation, the cut reply included
        replayed = [e for e in h.sent_to_server("conversation.item.create") if e["item"].get("role") == "assistant"]
        assert any(cut.text in str(e["item"]["content"]) for e in replayed)


@pytest.mark.parametrize(
    "frame",
    [RawText('{"type": "response.done", "respo'), RawText("[1, 2, 3]"), RawBinary(b"\x00" * 64),
     Emit({"type": "response.output_text.delta", "delta": 7}), Emit({"event_id": "no-type"})],
    ids=["bad-json", "json-array", "binary", "mistyped-delta", "no-type"],
)
async def test_a_message_the_plugin_cannot_read_is_skipped(frame: Any, tmp_path: Path) -> None:
    async with harness(conversations_dir=tmp_path, model={"modalities": "text"}) as h:

        def garble_mid_reply(event: dict[str, Any], context: TamperContext) -> Any:
            return [frame, Emit(event, validate=True)] if event["type"] == TEXT_DELTA and context.text_deltas == 1 else None

        h.server.faults.tamper_next_reply(garble_mid_reply)
        assert await _say(h, "One two three four.") == "One two three four."
        assert h.engine.connection is ConnectionState.CONNECTED
        warnings = [w.message for w in h.of(Warning)]
        assert any("skipped it and carries on" in w for w in warnings), warnings
        assert not [e for e in h.errors() if e.fatal]
        assert await _say(h, "Five.") == "Five."
        assert [text for role, text, _ in _saved(h) if role == "assistant"] == ["One two three four.", "Five."]


async def test_a_fatal_error_right_after_a_reply_loses_nothing(tmp_path: Path) -> None:
    async with harness(conversations_dir=tmp_path, model={"modalities": "text"}) as h:
        assert await _say(h, "The first answer.") == "The first answer."

        def fatal_after(event: dict[str, Any], context: TamperContext) -> Any:
            if event["type"] == "response.done":
                error = {"type": "error", "error": {"type": "invalid_request_error", "code": "insufficient_quota",
                                                    "message": "You exceeded your current quota."}}
                return [Emit(event, validate=True), Emit(error)]
            return None

        h.server.faults.tamper_next_reply(fatal_after)
        h.server.scripted.queue_reply("The second answer, complete.")
        h.engine.send_text("and again?")
        await until(lambda: h.engine.connection is ConnectionState.FAILED, 20, "the failed state")
        fatal = [e for e in h.errors() if e.fatal]
        assert len(fatal) == 1 and "quota" in fatal[0].message
        assert [text for role, text, _ in _saved(h) if role == "assistant"] == ["The first answer.", "The second answer, complete."]


async def test_a_secret_quoted_by_the_service_is_never_shown(tmp_path: Path) -> None:
    async with harness(conversations_dir=tmp_path, model={"modalities": "text"}) as h:
        quoting = f"Request rejected. Headers: {{'api-key': '{API_KEY}', 'Authorization': 'Bearer eyJ0eXAi.token-we-never-saw'}}"

        def quote_the_key(event: dict[str, Any], context: TamperContext) -> Any:
            if event["type"] == TEXT_DELTA and context.text_deltas == 0:
                return [Emit({"type": "error", "error": {"type": "invalid_request_error", "code": "odd", "message": quoting}}),
                        Emit(event, validate=True)]
            return None

        h.server.faults.tamper_next_reply(quote_the_key)
        assert await _say(h, "Fine anyway.") == "Fine anyway."
        shown = " ".join(f"{e.message} {e.detail}" for e in h.of(Error)) + " ".join(w.message for w in h.of(Warning))
        assert "Request rejected" in shown
        assert API_KEY not in shown and "token-we-never-saw" not in shown
        assert API_KEY not in h.engine.conversation_path.read_text() if h.engine.conversation_path else True


async def test_one_huge_text_delta_is_paced_to_playback(tmp_path: Path) -> None:
    """24 KB in one transcript delta froze the loop for 27 s in LiveKit's word stream; the
    reply now plays and is saved whole (the linear stream is counted in test_wire_guard)."""
    async with harness(conversations_dir=tmp_path, pace=0, audio_pace=0) as h:
        huge = " ".join(f"word{i}" for i in range(4000)) + "."

        def one_delta(event: dict[str, Any], context: TamperContext) -> Any:
            if event["type"] == "response.output_audio_transcript.delta":
                if context.text_deltas == 0:
                    return [Emit({**event, "delta": huge}, validate=True)]
                return []
            if event["type"] == "response.output_audio_transcript.done":
                return [Emit({**event, "transcript": huge}, validate=True)]
            return None

        h.server.faults.tamper_next_reply(one_delta)
        text = await _say(h, "Short words to speak.")
        assert text == huge
