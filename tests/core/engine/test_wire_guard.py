"""What the service sends is checked before LiveKit reads it, and the word stream is linear."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from livekit.agents import tokenize

from azassist.core.engine.tokenizer import LinearWordStream, synchronizer_word_tokenizer
from azassist.core.engine.wire_guard import WireMonitor, check_server_event


def _check(event: Any) -> str | None:
    return check_server_event(event if isinstance(event, str) else json.dumps(event))[1]


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ('{"type": "response.done", "respo', "not valid JSON"),
        ("\ufeff{}", "not valid JSON"),
        ("[1, 2, 3]", "not an event"),
        ({"event_id": "e1"}, "without a type"),
        ({"type": ["x"]}, "without a type"),
        ({"type": "response.output_audio.delta", "delta": 7}, "without text in its delta"),
        ({"type": "response.output_audio_transcript.delta", "delta": None}, "without text in its delta"),
        ({"type": "response.created"}, "without its response"),
        ({"type": "response.done", "response": {"id": 3}}, "response.id is not text"),
        ({"type": "conversation.item.added", "item": "x"}, "without its item"),
        ({"type": "error", "error": {"code": "x"}}, "without a message"),
        ({"type": "response.output_text.delta", "delta": "a", "item_id": 5}, "item_id is not text"),
        ({"type": "response.output_text.delta", "delta": "a", "output_index": "0"}, "output_index is not a number"),
        ({"type": "response.output_audio_transcript.done", "transcript": 1}, "transcript is not text"),
    ],
)
def test_frames_the_plugin_cannot_read_are_named(frame: Any, problem: str) -> None:
    said = _check(frame)
    assert said is not None and problem in said


@pytest.mark.parametrize(
    "event",
    [
        {"type": "simulator.unknown_event", "note": "anything"},
        {"type": "response.output_audio.delta", "delta": "AAAA", "response_id": "r", "item_id": "i", "output_index": 0},
        {"type": "response.done", "response": {"id": "r", "status": "completed", "usage": None}},
        {"type": "error", "error": {"type": "invalid_request_error", "code": None, "message": "no"}},
        {"type": "conversation.item.created", "item": {"id": "i", "type": "message", "role": "user"}},
    ],
)
def test_ordinary_events_pass(event: dict[str, Any]) -> None:
    assert _check(event) is None


def test_monitor_follows_replies_and_keeps_their_text() -> None:
    said: list[str] = []
    monitor = WireMonitor(on_problem=said.append)
    assert not monitor.pending
    monitor.expect_reply()
    assert monitor.pending
    monitor.event_arrived({"type": "response.created", "response": {"id": "r1"}})
    monitor.event_arrived({"type": "response.output_audio_transcript.delta", "response_id": "r1", "delta": "Hel"})
    monitor.event_arrived({"type": "response.output_text.delta", "response_id": "r1", "delta": "lo"})
    assert monitor.pending and monitor.expecting_since is None
    assert monitor.text_of("r1") == "Hello"
    monitor.event_arrived({"type": "response.done", "response": {"id": "r1", "status": "completed"}})
    assert not monitor.pending and "r1" in monitor.completed
    # a refused request: the error ends the wait for a reply that will never start
    monitor.expect_reply()
    monitor.event_arrived({"type": "error", "error": {"message": "refused"}})
    assert not monitor.pending
    monitor.problem("a binary frame")
    monitor.problem("a binary frame")
    assert said == ["a binary frame"] and monitor.skipped == 2  # said once, counted always


def _words(tokenizer: tokenize.WordTokenizer, chunks: list[str]) -> list[str]:
    async def run() -> list[str]:
        stream = tokenizer.stream()
        for chunk in chunks:
            stream.push_text(chunk)
        stream.end_input()
        return [data.token async for data in stream]

    return asyncio.run(run())


TEXTS = [
    "Hello there, how are you?  I'm fine.\nNew line: 3.14 and e-mail test@example.com! 日本語のテキストです。",
    "  leading spaces and trailing   ",
    "One. Two! Three? 'quoted' \"double\" (paren) - dash — emdash…",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("cuts", [1, 3, 8])
def test_linear_word_stream_gives_livekits_words(text: str, cuts: int) -> None:
    step = max(1, len(text) // cuts)
    chunks = [text[i : i + step] for i in range(0, len(text), step)]
    livekit = tokenize.basic.WordTokenizer(retain_format=True, ignore_punctuation=False, split_character=True)
    assert _words(synchronizer_word_tokenizer(), chunks) == _words(livekit, chunks)


def test_linear_word_stream_tokenizes_once_per_push(monkeypatch: pytest.MonkeyPatch) -> None:
    """LiveKit's stream re-tokenized its buffer once per word: one 24 KB delta blocked the loop
    for 27 s. Counted in calls, not seconds: one delta of 4,000 words is one tokenization."""

    async def run() -> tuple[int, int]:
        stream = synchronizer_word_tokenizer().stream()
        assert isinstance(stream, LinearWordStream)
        calls = 0
        tokenize_once = stream._tokenize_fnc

        def counting(text: str) -> Any:
            nonlocal calls
            calls += 1
            return tokenize_once(text)

        stream._tokenize_fnc = counting
        stream.push_text("word " * 4000)
        words = 0
        stream.end_input()
        async for _ in stream:
            words += 1
        return calls, words

    calls, words = asyncio.run(run())
    assert words >= 4000  # the last may be the trailing space, as in LiveKit's stream
    assert calls == 2  # the push, and the flush at the end
