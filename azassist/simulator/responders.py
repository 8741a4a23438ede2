"""Who answers in the simulator: echo (the audio check), scripted (tests) and demo (new users).

A responder decides *what* a reply says; the server decides *how* it goes on the wire (events,
pacing, speech synthesis, cancellation). ``respond`` must return quickly: speech is synthesised
by the server after ``response.created``, so response latency stays honest.

User "transcripts" are not speech recognition: the simulator cannot understand audio. They are
deterministic stand-ins, by default ``"(1.4 s of speech)"``; scripted tests queue the exact
transcript the next utterance should get.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .protocol import ConversationItem, JsonDict
from .tools import ToolCall, call_for, last_tool_output, tool_names
from .vad import SAMPLE_RATE

AudioPart = str | np.ndarray
"""A piece of reply audio: text to speak, or ready samples (24 kHz mono int16)."""


@dataclass(frozen=True)
class ErrorSpec:
    """An error the server reports: as an ``error`` event, or inside a failed response."""

    code: str
    message: str | None = None
    type: str | None = None
    close: bool = False  # close the socket after sending it (like the service on fatal errors)


@dataclass
class Reply:
    """One answer. ``audio`` None means: speak ``text`` in the session's voice."""

    text: str = ""
    audio: Sequence[AudioPart] | np.ndarray | None = None
    error: ErrorSpec | None = None  # refuse the response.create with an ``error`` event
    failure: ErrorSpec | None = None  # response.created, then response.done status=failed
    delay_s: float = 0.0  # wait before the first output (a slow model)
    stall: bool = False  # never produce output; only a cancel ends it
    tool_calls: tuple[ToolCall, ...] = ()  # call these functions instead of speaking

    def audio_parts(self) -> list[AudioPart]:
        if self.audio is None:
            return [self.text] if self.text else []
        if isinstance(self.audio, np.ndarray):
            return [self.audio]
        return list(self.audio)


@dataclass(frozen=True)
class UserAudio:
    """A committed user utterance, as handed to ``transcribe``."""

    item_id: str
    samples: np.ndarray
    speech_seconds: float  # VAD speech length (onset to last voiced frame), else buffer length


@dataclass(frozen=True)
class Turn:
    """What a responder sees when asked for a reply."""

    instructions: str
    conversation: tuple[ConversationItem, ...]
    modalities: tuple[str, ...]
    voice: str
    metadata: dict[str, str] | None = None
    tools: tuple[JsonDict, ...] = ()  # the functions the session declared

    @property
    def tool_output(self) -> ConversationItem | None:
        """The tool result this response follows up on, if it is one."""
        return last_tool_output(self.conversation)

    @property
    def last_user_item(self) -> ConversationItem | None:
        for item in reversed(self.conversation):
            if item.type == "message" and item.role == "user":
                return item
        return None


def describe_seconds(seconds: float) -> str:
    return f"{seconds:.1f} second" + ("" if round(seconds, 1) == 1.0 else "s")


class Responder:
    """Base: override ``respond``; ``transcribe`` defaults to an honest length description."""

    name = "base"

    def transcribe(self, utterance: UserAudio) -> str:
        return f"({utterance.speech_seconds:.1f} s of speech)"

    async def respond(self, turn: Turn) -> Reply:
        raise NotImplementedError


class EchoResponder(Responder):
    """The audio check: says how long the user spoke, then plays the recording back."""

    name = "echo"
    GAP_S = 0.25

    async def respond(self, turn: Turn) -> Reply:
        item = turn.last_user_item
        if item is None:
            return Reply("Say something and I will play it back to you.")
        if item.audio is not None and len(item.audio):
            text = f"I heard {describe_seconds(item.speech_length)} of audio."
            gap = np.zeros(int(self.GAP_S * SAMPLE_RATE), dtype=np.int16)
            return Reply(text, audio=[text, gap, item.audio])
        return Reply(f"You typed: {item.text}" if item.text else "I received an empty message.")


class ScriptedResponder(Responder):
    """Replies, errors and user transcripts queued by a test, handed out in order.

    With an empty queue it answers ``default_reply``. Every turn it was asked about is kept in
    ``turns`` so tests can assert on what reached the model.
    """

    name = "scripted"

    def __init__(self, default_reply: str = "OK.") -> None:
        self.default_reply = default_reply
        self._replies: deque[Reply | Callable[[Turn], Reply]] = deque()
        self._transcripts: deque[str] = deque()
        self.turns: list[Turn] = []

    def queue_reply(
        self,
        text: str,
        *,
        audio: Sequence[AudioPart] | np.ndarray | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Queue a reply: ``text`` is the transcript; audio defaults to speaking it."""
        self._replies.append(Reply(text, audio=audio, delay_s=delay_s))

    def queue(self, reply: Reply) -> None:
        """Queue any :class:`Reply` (stalls, failures, custom audio...)."""
        self._replies.append(reply)

    def queue_error(
        self, code: str, message: str | None = None, *, type: str | None = None, close: bool = False
    ) -> None:
        """Answer the next response.create with an ``error`` event instead of a response."""
        self._replies.append(Reply(error=ErrorSpec(code, message, type, close)))

    def queue_failure(
        self, code: str, message: str | None = None, *, type: str | None = None
    ) -> None:
        """Let the next response start, then end it with ``status: failed``."""
        self._replies.append(Reply(failure=ErrorSpec(code, message, type)))

    def queue_tool_call(
        self, name: str, arguments: Mapping[str, object] | str | None = None, *, then: str | None = "{output}"
    ) -> ToolCall:
        """The next reply calls ``name``; ``then`` (with ``{output}`` standing for what the
        tool returned) is the reply to the follow-up after the tool ran; None queues none."""
        call = ToolCall.of(name, arguments)
        self._replies.append(Reply(tool_calls=(call,)))
        if then is not None:
            template = then
            self._replies.append(lambda turn: Reply(template.format(output=_output_text(turn))))
        return call

    def queue_transcript(self, text: str) -> None:
        """The transcript the next committed user utterance gets."""
        self._transcripts.append(text)

    @property
    def pending(self) -> int:
        return len(self._replies)

    def transcribe(self, utterance: UserAudio) -> str:
        if self._transcripts:
            return self._transcripts.popleft()
        return super().transcribe(utterance)

    async def respond(self, turn: Turn) -> Reply:
        self.turns.append(turn)
        if self._replies:
            reply = self._replies.popleft()
            return reply(turn) if callable(reply) else reply
        return Reply(self.default_reply)


_DEMO_ANSWERS: tuple[tuple[str, str], ...] = (
    (
        r"\b(hello|hi|hey|good (morning|afternoon|evening))\b",
        "Hello! I'm the offline demo voice. I run on this computer, so I only know a few things.",
    ),
    (
        r"\b(help|what can you do)\b",
        "In the demo I can greet you, tell the time and tell a joke. "
        "Add your Azure OpenAI deployment in Settings to talk to a real model.",
    ),
    (r"\btime\b", "__time__"),
    (r"\b(your name|who are you)\b", "I'm the azassist demo voice, a stand-in for a real model."),
    (r"\bjoke\b", "Why did the microphone blush? Because it heard everything."),
    (r"\b(thanks|thank you)\b", "You're welcome!"),
    (r"\b(bye|goodbye)\b", "Goodbye! Come back when your Azure deployment is ready."),
)


class DemoResponder(Responder):
    """A small offline persona for someone trying the app before they have Azure.

    With the app's tools switched on it calls them the way a real model would: the time
    from the clock tool, a reminder through the timer tool, and it reads back their results.
    """

    name = "demo"

    async def respond(self, turn: Turn) -> Reply:
        output = turn.tool_output
        if output is not None:
            return Reply(_spoken_tool_result(output, turn.conversation))
        item = turn.last_user_item
        if item is None:
            return Reply("Hi! I'm the offline demo. Say something or type a message.")
        if item.audio is not None and len(item.audio) and not _typed_text(item):
            seconds = describe_seconds(item.speech_length)
            return Reply(
                f"I heard you speak for {seconds}. I'm the offline demo, so I can't understand "
                "words, but your microphone works. Type hello or help to try me."
            )
        text = _typed_text(item)
        call = demo_tool_call(text, tool_names(turn.tools))
        if call is not None:
            return Reply(tool_calls=(call,))
        return Reply(self.answer(text))

    @staticmethod
    def answer(text: str) -> str:
        lowered = text.lower()
        for pattern, answer in _DEMO_ANSWERS:
            if re.search(pattern, lowered):
                if answer == "__time__":
                    return f"It is {datetime.now():%H:%M} here."
                return answer
        return f"You said: {text}. In the demo I only know a few things: try hello, time or help."


# The demo knows the names of azassist's built-in tools (azassist.core.tools.builtin).
_CLOCK_TOOL, _TIMER_TOOL = "get_current_time", "set_timer"
_DEMO_ZONES = {
    "tokyo": "Asia/Tokyo", "london": "Europe/London", "paris": "Europe/Paris", "berlin": "Europe/Berlin",
    "new york": "America/New_York", "sydney": "Australia/Sydney", "los angeles": "America/Los_Angeles",
}
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "sixty": 60,
}
_IN_DURATION = re.compile(r"\b(?:in|for)\s+(\d+|[a-z]+)\s+(second|minute|hour)s?\b")


def demo_tool_call(text: str, available: set[str]) -> ToolCall | None:
    """The tool call a real model would make for ``text``, among the tools declared."""
    lowered = text.lower()
    if _TIMER_TOOL in available and re.search(r"\b(remind|timer|alarm)\b", lowered):
        match = _IN_DURATION.search(lowered)
        amount = None
        if match:
            word = match.group(1)
            amount = int(word) if word.isdigit() else _NUMBER_WORDS.get(word)
        if match and amount:
            seconds = amount * {"second": 1, "minute": 60, "hour": 3600}[match.group(2)]
            about = re.search(r"\bto\s+(.+?)[.?!]*$", lowered[match.end() :]) or re.search(
                r"\bremind me to\s+(.+?)\s+(?:in|for)\b", lowered
            )
            label = about.group(1).strip() if about else "your reminder"
            return ToolCall.of(_TIMER_TOOL, {"seconds": seconds, "label": label})
    if _CLOCK_TOOL in available and re.search(r"\b(time|date|day is it)\b", lowered):
        zone = next((z for place, z in _DEMO_ZONES.items() if place in lowered), None)
        return ToolCall.of(_CLOCK_TOOL, {"timezone": zone} if zone else {})
    return None


def _output_text(turn: Turn) -> str:
    output = turn.tool_output
    return output.output or "" if output is not None else ""


def _spoken_tool_result(output: ConversationItem, conversation: tuple[ConversationItem, ...]) -> str:
    """What the demo says after a tool ran: built-in tools answer in a sentence; anything
    else (an MCP server's JSON) is read out as the tool's answer."""
    text = (output.output or "").strip()
    call = call_for(output, conversation)
    name = call.name if call is not None else "the tool"
    try:
        json.loads(text)
    except ValueError:
        return text or f"{name} returned nothing."
    return f"{name} answered: {text}"


def _typed_text(item: ConversationItem) -> str:
    return " ".join(
        p.get("text", "") for p in item.content if p.get("type") == "input_text"
    ).strip()


RESPONDERS: dict[str, type[Responder]] = {
    "echo": EchoResponder,
    "scripted": ScriptedResponder,
    "demo": DemoResponder,
}


def make_responder(spec: str | Responder) -> Responder:
    if isinstance(spec, Responder):
        return spec
    try:
        return RESPONDERS[spec]()
    except KeyError:
        raise ValueError(
            f"unknown responder {spec!r}; choose one of {', '.join(RESPONDERS)} "
            "or pass a Responder instance"
        ) from None


__all__ = [
    "AudioPart",
    "DemoResponder",
    "EchoResponder",
    "ErrorSpec",
    "Reply",
    "Responder",
    "ScriptedResponder",
    "ToolCall",
    "Turn",
    "UserAudio",
    "make_responder",
]
