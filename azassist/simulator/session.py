"""One realtime WebSocket connection: session state, input audio, conversation and replies.

The reader loop handles client events one at a time and in order, like the service: a
``response.cancel`` has fully taken effect (``response.done`` queued) before the next event,
say a ``conversation.item.truncate``, is looked at. Replies stream from their own task; every
outgoing frame goes through one queue, so the wire order is the order events were produced.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web
from openai.types.beta.realtime import response_create_event as preview_response_create
from openai.types.realtime import RealtimeResponseCreateParams

from . import speech
from .config import SimulatorConfig
from .faults import (
    Abort,
    Action,
    Close,
    Emit,
    Faults,
    Hangup,
    Keep,
    Pause,
    RawBinary,
    RawText,
    Stall,
    Tamper,
)
from .protocol import (
    ERROR_TYPES,
    MIN_COMMIT_MS,
    PREVIEW_TEMPERATURE_RANGE,
    VOICES,
    ConversationItem,
    Dialect,
    JsonDict,
    ProtocolError,
    SessionConfig,
    apply_session_update,
    estimate_usage,
    event_name,
    invalid_value,
    new_id,
    number_in_range,
    parse_item,
    render_response,
    render_session,
    unknown_parameter,
)
from .responders import ErrorSpec, Reply, Responder, Turn, UserAudio
from .tools import call_events, call_item, unknown_call_id
from .vad import SAMPLE_RATE, EnergyVad, SpeechStarted
from .validation import EventValidator
from .wire import WireEvent, WireLog

logger = logging.getLogger(__name__)

_GA_RESPONSE_KEYS = frozenset(RealtimeResponseCreateParams.model_fields)
_PREVIEW_RESPONSE_KEYS = frozenset(preview_response_create.Response.model_fields)
_WORD = re.compile(r"\S+\s*")

_DEFAULT_ERROR_MESSAGES: dict[str, str] = {
    "invalid_api_key": "Incorrect API key provided.",
    "insufficient_quota": "You exceeded your current quota, please check your plan and billing "
    "details.",
    "rate_limit_exceeded": "Rate limit reached for requests. Please try again later.",
    "server_error": "The server had an error while processing your request. Sorry about that!",
    "session_expired": "Your session hit the maximum duration.",
}


@dataclass
class ActiveResponse:
    """A reply in flight, and how much of it has reached the wire (for cancel and truncate)."""

    id: str
    modalities: tuple[str, ...]
    voice: str
    metadata: dict[str, str] | None
    out_of_band: bool
    input_text: str
    input_audio_s: float
    task: asyncio.Task[None] | None = None
    item: ConversationItem | None = None
    previous_item_id: str | None = None
    sent_text: str = ""
    sent_audio: list[np.ndarray] = field(default_factory=list)
    streams_done: bool = False
    function_calls: list[ConversationItem] = field(default_factory=list)  # output items after the message

    @property
    def audio_out(self) -> bool:
        return "audio" in self.modalities

    @property
    def sent_audio_samples(self) -> np.ndarray:
        if not self.sent_audio:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self.sent_audio)


def _spoken(text: str, voice: str, speed: float) -> np.ndarray:
    """Speech for reply text in the session's voice and speed (tones without espeak)."""
    return speech.speak_or_beep(text, SAMPLE_RATE, voice=voice, words_per_minute=round(175 * speed))


def render_reply_audio(
    reply: Reply, voice: str, speed: float
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The reply's samples and the sample spans that are spoken text (transcript timing)."""
    pieces: list[np.ndarray] = []
    spoken_spans: list[tuple[int, int]] = []
    position = 0
    for part in reply.audio_parts():
        samples = _spoken(part, voice, speed) if isinstance(part, str) else np.asarray(part)
        samples = samples.astype(np.int16, copy=False)
        if isinstance(part, str):
            spoken_spans.append((position, position + len(samples)))
        pieces.append(samples)
        position += len(samples)
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    return audio, spoken_spans or [(0, len(audio))]


def word_schedule(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """(sample position, word) pairs: words spread over the spoken spans by character count."""
    words = _WORD.findall(text)
    if not words:
        return []
    total_chars = sum(len(w) for w in words)
    span_lengths = [end - start for start, end in spans]
    total_samples = max(1, sum(span_lengths))
    schedule: list[tuple[int, str]] = []
    chars_before = 0
    for word in words:
        offset = chars_before / total_chars * total_samples
        for (start, _end), length in zip(spans, span_lengths, strict=True):
            if offset <= length:
                schedule.append((int(start + offset), word))
                break
            offset -= length
        else:
            schedule.append((spans[-1][1], word))
        chars_before += len(word)
    return schedule


class RealtimeConnection:
    """Server side of one realtime session (GA or preview dialect)."""

    def __init__(
        self,
        *,
        ws: web.WebSocketResponse,
        request: web.Request,
        dialect: Dialect,
        deployment: str,
        settings: SimulatorConfig,
        responder: Responder,
        faults: Faults,
        received: WireLog,
        sent: WireLog,
        validator: EventValidator | None,
    ) -> None:
        self.id = new_id("sess")
        self.conversation_id = new_id("conv")
        self.dialect = dialect
        self.deployment = deployment
        self.config = SessionConfig(model=settings.model)
        self.items: list[ConversationItem] = []
        self.assistant_audio_present = False
        self.history_loaded = False  # the client created an assistant message (text history)
        self.closed = False
        self.opened_at = time.monotonic()
        self._ws = ws
        self._request = request
        self._settings = settings
        self._responder = responder
        self._faults = faults
        self._received = received
        self._sent = sent
        self._validator = validator
        self._outbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self._audio_samples = 0
        self._vad: EnergyVad | None = None
        self._manual_buffer: list[np.ndarray] = []
        self._speech_item_id: str | None = None
        self._speech_start_ms = 0
        self._response: ActiveResponse | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._session_tamper: Tamper | None = None  # fault injection, see Faults.tamper_*
        self._reply_tamper: Tamper | None = None
        self._stalled = False
        self._rebuild_turn_detection()
        self._handlers: dict[str, Callable[[JsonDict], Awaitable[None]]] = {
            "session.update": self._on_session_update,
            "input_audio_buffer.append": self._on_append,
            "input_audio_buffer.commit": self._on_commit,
            "input_audio_buffer.clear": self._on_clear,
            "conversation.item.create": self._on_item_create,
            "conversation.item.delete": self._on_item_delete,
            "conversation.item.truncate": self._on_item_truncate,
            "conversation.item.retrieve": self._on_item_retrieve,
            "response.create": self._on_response_create,
            "response.cancel": self._on_response_cancel,
        }

    # ------------------------------------------------------------------ public view

    @property
    def active_response(self) -> ActiveResponse | None:
        return self._response

    def item(self, item_id: str) -> ConversationItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    @property
    def audio_position_ms(self) -> int:
        """Milliseconds of input audio received so far (the VAD's clock)."""
        return self._audio_samples * 1000 // SAMPLE_RATE

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        writer = asyncio.create_task(self._write_loop(), name=f"sim-writer-{self.id}")
        max_seconds = self._faults.session_max_seconds or self._settings.session_max_seconds
        if max_seconds:
            self._spawn(self._expire_after(max_seconds))
        self._session_tamper = self._faults.take_session_tamper(self.id)
        self.send(
            {
                "type": "session.created",
                "session": render_session(self.config, self.dialect, self.id),
            }
        )
        try:
            async for message in self._ws:
                if message.type == WSMsgType.TEXT:
                    await self._on_text(message.data)
                elif message.type == WSMsgType.BINARY:
                    self._send_protocol_error(
                        ProtocolError("Binary frames are not supported.", code="invalid_value"),
                        None,
                    )
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            self.closed = True
            tasks = list(self._background)
            if self._response is not None and self._response.task is not None:
                tasks.append(self._response.task)
            for task in tasks:
                task.cancel()
            writer.cancel()
            await asyncio.gather(*tasks, writer, return_exceptions=True)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _expire_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        minutes = seconds / 60
        duration = f"{minutes:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"
        self.send_error_spec(
            ErrorSpec(
                "session_expired",
                f"Your session hit the maximum duration of {duration}.",
                close=True,
            )
        )

    # ------------------------------------------------------------------ outgoing

    def send(self, event: JsonDict) -> None:
        """Queue a server event given with its GA name; renamed (or dropped) for the dialect.

        An armed tamper (fault injection) sees it first and decides what goes out instead.
        """
        tamper = self._reply_tamper or self._session_tamper
        if tamper is None or self.closed:
            self._queue_event(event)
            return
        for action in tamper.filter(event):
            self._queue_action(action, event)

    def _queue_action(self, action: Action, original: JsonDict) -> None:
        """One tamper action onto the outbox, in order with everything else."""
        if isinstance(action, Keep):
            self._queue_event(original)
        elif isinstance(action, Emit):
            self._queue_event(action.event, fault=not action.validate)
        elif isinstance(action, RawText):
            self.send_raw(action.text)
        elif isinstance(action, RawBinary):
            self._outbox.put_nowait(("binary", action.data))
        elif isinstance(action, Close):
            self._outbox.put_nowait(("close", action.code, action.reason, True))
        elif isinstance(action, Abort):
            self._outbox.put_nowait(("abort", True))
        elif isinstance(action, Hangup):
            self._outbox.put_nowait(("hangup",))
        elif isinstance(action, Stall):
            self._outbox.put_nowait(("stall",))
        elif isinstance(action, Pause):
            self._outbox.put_nowait(("pause", action.seconds))

    def _queue_event(self, event: JsonDict, *, fault: bool = False) -> None:
        """Frame an event (GA name in) for this dialect's wire; ``fault``: not validated."""
        given = event.get("type")
        wire_type = event_name(given, self.dialect) if isinstance(given, str) else None
        if fault and wire_type is None:  # a forged type stays as forged
            wire_type = str(given) if "type" in event else "<untyped>"
        if wire_type is None or self.closed:
            return
        body = {k: v for k, v in event.items() if k != "type"}
        framed = {"type": wire_type, "event_id": new_id("event"), **body}
        if fault and "type" not in event:
            del framed["type"]  # a forged event without a type stays without one
        self._outbox.put_nowait(("event", wire_type, json.dumps(framed), framed, fault))

    def send_raw(self, text: str) -> None:
        """A frame sent as is and not validated (fault injection: malformed JSON)."""
        self._outbox.put_nowait(("event", "<malformed>", text, None, True))

    def send_raw_event(self, event: JsonDict) -> None:
        """An event sent without renaming or validation (fault injection: unknown types)."""
        framed = {"type": event["type"], "event_id": new_id("event"), **event}
        self._outbox.put_nowait(("event", framed["type"], json.dumps(framed), framed, True))

    def send_error_spec(self, spec: ErrorSpec, event_id: str | None = None) -> None:
        self.send(
            {
                "type": "error",
                "error": {
                    "type": spec.type or ERROR_TYPES.get(spec.code, "invalid_request_error"),
                    "code": spec.code,
                    "message": spec.message
                    or _DEFAULT_ERROR_MESSAGES.get(spec.code, f"Simulated error: {spec.code}"),
                    "param": None,
                    "event_id": event_id,
                },
            }
        )
        if spec.close:
            self.close()

    def _send_protocol_error(self, error: ProtocolError, event_id: str | None) -> None:
        self.send(
            {
                "type": "error",
                "error": {
                    "type": error.type,
                    "code": error.code,
                    "message": error.message,
                    "param": error.param,
                    "event_id": event_id,
                },
            }
        )

    def close(self, code: int = 1000, message: str = "") -> None:
        """Close the socket cleanly after everything queued so far."""
        self._outbox.put_nowait(("close", code, message, False))

    def abort(self) -> None:
        """Cut the socket after everything queued so far: no close frame, like a lost network."""
        self._outbox.put_nowait(("abort", False))

    def _record_fault(self, what: str, raw: str | None = None) -> None:
        """A tamper's connection-level action, in the wire log for the fuzzer to read."""
        self._sent.append(WireEvent("sent", time.monotonic(), self.id, what, None, raw, True))

    async def _write_loop(self) -> None:
        while True:
            entry = await self._outbox.get()
            kind = entry[0]
            if self._stalled:
                continue  # a stalled connection swallows everything until the session ends
            if kind == "abort":
                if entry[1]:
                    self._record_fault("<abort>")
                if self._request.transport is not None:
                    self._request.transport.abort()
                return
            if kind == "close":
                if entry[3]:
                    self._record_fault("<close>", f"{entry[1]} {entry[2]}")
                with contextlib.suppress(Exception):
                    await self._ws.close(code=entry[1], message=entry[2].encode())
                return
            if kind == "hangup":
                self._record_fault("<hangup>")
                if self._request.transport is not None:
                    self._request.transport.close()  # flushes what was written, then FIN
                return
            if kind == "stall":
                self._record_fault("<stall>")
                self._stalled = True
                continue
            if kind == "pause":
                await asyncio.sleep(entry[1])
                continue
            if kind == "binary":
                try:
                    await self._ws.send_bytes(entry[1])
                except (ConnectionError, RuntimeError):
                    return
                self._record_fault("<binary>", f"{len(entry[1])} bytes")
                continue
            _, wire_type, text, framed, fault = entry
            stamp = time.monotonic()
            try:
                await self._ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return  # the client went away; the reader loop ends the session
            self._sent.append(
                WireEvent(
                    "sent",
                    stamp,
                    self.id,
                    wire_type,
                    framed,
                    text if framed is None else None,
                    fault,
                )
            )
            if self._validator is not None and not fault:
                self._validator.check(text, wire_type, self.dialect, "sent", self.id)

    # ------------------------------------------------------------------ incoming

    async def _on_text(self, raw: str) -> None:
        stamp = time.monotonic()
        try:
            event = json.loads(raw)
        except ValueError:
            self._received.append(WireEvent("received", stamp, self.id, "<malformed>", None, raw))
            self._send_protocol_error(
                ProtocolError(
                    "We could not parse the JSON body of your request. Make sure it is valid JSON.",
                    code="invalid_json",
                ),
                None,
            )
            return
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            self._received.append(WireEvent("received", stamp, self.id, "<untyped>", None, raw))
            self._send_protocol_error(
                ProtocolError(
                    "Missing required parameter: 'type'.",
                    code="missing_required_parameter",
                    param="type",
                ),
                None,
            )
            return
        event_type = event["type"]
        self._received.append(WireEvent("received", stamp, self.id, event_type, event))
        if self._validator is not None:
            self._validator.check(raw, event_type, self.dialect, "received", self.id)
        handler = self._handlers.get(event_type)
        client_event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        try:
            if handler is None:
                raise invalid_value("type", event_type, tuple(self._handlers))
            await handler(event)
        except ProtocolError as error:
            self._send_protocol_error(error, client_event_id)

    # session -----------------------------------------------------------

    async def _on_session_update(self, event: JsonDict) -> None:
        if "session" not in event:
            raise ProtocolError(
                "Missing required parameter: 'session'.",
                code="missing_required_parameter",
                param="session",
            )
        updated = apply_session_update(
            self.config,
            event["session"],
            self.dialect,
            assistant_audio_present=self.assistant_audio_present,
        )
        # On Azure the deployment decides the model, whatever the client names.
        updated = replace(updated, model=self._settings.model)
        turn_detection_changed = updated.turn_detection != self.config.turn_detection
        self.config = updated
        if turn_detection_changed:
            self._rebuild_turn_detection()
        self.send(
            {
                "type": "session.updated",
                "session": render_session(self.config, self.dialect, self.id),
            }
        )

    def _rebuild_turn_detection(self) -> None:
        """Switch between VAD and manual turns, keeping what is buffered where it makes sense."""
        buffered = self._take_buffer()
        td = self.config.turn_detection
        if td is None:
            self._vad = None
            self._manual_buffer = [buffered] if len(buffered) else []
        else:
            self._vad = EnergyVad(td.vad_settings(), start_ms=self.audio_position_ms)
            self._manual_buffer = []
        self._speech_item_id = None

    def _take_buffer(self) -> np.ndarray:
        if self._vad is not None:
            audio = self._vad.buffered_audio()
            self._vad.reset()
        else:
            audio = (
                np.concatenate(self._manual_buffer)
                if self._manual_buffer
                else np.zeros(0, dtype=np.int16)
            )
            self._manual_buffer = []
        return audio

    # input audio -------------------------------------------------------

    def _decode_audio(self, encoded: Any, param: str) -> np.ndarray:
        if not isinstance(encoded, str):
            raise ProtocolError(
                f"Missing required parameter: '{param}'.",
                code="missing_required_parameter",
                param=param,
            )
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError(
                f"Invalid '{param}': expected base64-encoded audio.",
                code="invalid_value",
                param=param,
            ) from None
        if len(data) % 2:
            raise ProtocolError(
                f"Invalid '{param}': 16-bit PCM needs an even number of bytes.",
                code="invalid_value",
                param=param,
            )
        return np.frombuffer(data, dtype="<i2").astype(np.int16)

    async def _on_append(self, event: JsonDict) -> None:
        samples = self._decode_audio(event.get("audio"), "audio")
        self._audio_samples += len(samples)
        if self._vad is None:
            self._manual_buffer.append(samples)
            return
        td = self.config.turn_detection
        assert td is not None
        for vad_event in self._vad.push(samples):
            if isinstance(vad_event, SpeechStarted):
                self._speech_item_id = new_id("item")
                self._speech_start_ms = vad_event.audio_start_ms
                self.send(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": vad_event.audio_start_ms,
                        "item_id": self._speech_item_id,
                    }
                )
                if td.interrupt_response and self._response is not None:
                    await self._cancel_response("turn_detected")
                continue
            item_id = self._speech_item_id or new_id("item")
            self._speech_item_id = None
            self.send(
                {
                    "type": "input_audio_buffer.speech_stopped",
                    "audio_end_ms": vad_event.audio_end_ms,
                    "item_id": item_id,
                }
            )
            silence_ms = td.vad_settings().silence_duration_ms
            speech_ms = max(10, vad_event.audio_end_ms - silence_ms - self._speech_start_ms)
            self._commit_user_audio(vad_event.audio, item_id, speech_ms / 1000)
            if td.create_response and self._response is None:
                await self._start_response({}, client_event_id=None)

    async def _on_commit(self, event: JsonDict) -> None:
        if self._vad is not None:
            audio = self._vad.buffered_audio()
        else:
            audio = (
                np.concatenate(self._manual_buffer)
                if self._manual_buffer
                else np.zeros(0, dtype=np.int16)
            )
        buffered_ms = len(audio) * 1000 / SAMPLE_RATE
        if buffered_ms < MIN_COMMIT_MS:
            raise ProtocolError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        self._take_buffer()
        item_id = self._speech_item_id or new_id("item")
        self._speech_item_id = None
        self._commit_user_audio(audio, item_id, len(audio) / SAMPLE_RATE)

    async def _on_clear(self, event: JsonDict) -> None:
        self._take_buffer()
        self._speech_item_id = None
        self.send({"type": "input_audio_buffer.cleared"})

    def _commit_user_audio(self, audio: np.ndarray, item_id: str, speech_seconds: float) -> None:
        previous = self.items[-1].id if self.items else None
        item = ConversationItem(
            id=item_id,
            type="message",
            role="user",
            content=[{"type": "input_audio", "transcript": None}],
            audio=audio,
            speech_seconds=speech_seconds,
        )
        self.items.append(item)
        self.send(
            {
                "type": "input_audio_buffer.committed",
                "previous_item_id": previous,
                "item_id": item_id,
            }
        )
        self._send_item_added(item, previous, done=True)
        if self.config.transcription is not None:
            delay = self._settings.transcription_delay_s
            if delay > 0:
                self._spawn(self._transcribe_later(item, delay))
            else:
                self._transcribe(item)

    async def _transcribe_later(self, item: ConversationItem, delay: float) -> None:
        await asyncio.sleep(delay)
        self._transcribe(item)

    def _transcribe(self, item: ConversationItem) -> None:
        assert item.audio is not None
        transcript = self._responder.transcribe(UserAudio(item.id, item.audio, item.speech_length))
        item.content[0]["transcript"] = transcript
        self.send(
            {
                "type": "conversation.item.input_audio_transcription.delta",
                "item_id": item.id,
                "content_index": 0,
                "delta": transcript,
            }
        )
        self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item.id,
                "content_index": 0,
                "transcript": transcript,
                "usage": {"type": "duration", "seconds": round(item.audio_seconds, 3)},
            }
        )

    # conversation items -------------------------------------------------

    def _send_item_added(self, item: ConversationItem, previous: str | None, *, done: bool) -> None:
        rendered = item.render(self.dialect)
        self.send(
            {"type": "conversation.item.added", "previous_item_id": previous, "item": rendered}
        )
        if done:
            self.send(
                {"type": "conversation.item.done", "previous_item_id": previous, "item": rendered}
            )

    def _index_of(self, item_id: Any) -> int | None:
        return next((n for n, i in enumerate(self.items) if i.id == item_id), None)

    async def _on_item_create(self, event: JsonDict) -> None:
        item = parse_item(event.get("item"), self._decode_audio)
        if self._index_of(item.id) is not None:
            raise ProtocolError(
                f"Item with id '{item.id}' already exists.",
                code="item_create_duplicate_item_id",
                param="item.id",
            )
        previous_id = event.get("previous_item_id")
        if previous_id is None:
            index = len(self.items)
        elif previous_id == "root":
            index = 0
        else:
            found = self._index_of(previous_id)
            if found is None:
                raise ProtocolError(
                    f"Previous item with id '{previous_id}' does not exist.",
                    code="item_not_found",
                    param="previous_item_id",
                )
            index = found + 1
        if item.type == "function_call_output" and unknown_call_id(item.call_id or "", self.items):
            raise ProtocolError(
                f"Tool call ID '{item.call_id}' not found in conversation.",
                code="invalid_value",
                param="item.call_id",
            )
        self.items.insert(index, item)
        if item.type == "message" and item.role == "assistant":
            self.history_loaded = True
        previous = self.items[index - 1].id if index > 0 else None
        self._send_item_added(item, previous, done=True)

    def _item_or_error(self, item_id: Any) -> ConversationItem:
        item = self.item(item_id) if isinstance(item_id, str) else None
        if item is None:
            raise ProtocolError(
                f"Item with id '{item_id}' not found.", code="item_not_found", param="item_id"
            )
        return item

    async def _on_item_delete(self, event: JsonDict) -> None:
        item = self._item_or_error(event.get("item_id"))
        self.items.remove(item)
        self.send({"type": "conversation.item.deleted", "item_id": item.id})

    async def _on_item_truncate(self, event: JsonDict) -> None:
        item = self._item_or_error(event.get("item_id"))
        content_index = event.get("content_index", 0)
        audio_end_ms = event.get("audio_end_ms")
        if not isinstance(audio_end_ms, int) or audio_end_ms < 0:
            raise ProtocolError(
                "Invalid 'audio_end_ms': expected a non-negative integer.",
                code="invalid_value",
                param="audio_end_ms",
            )
        if (
            item.role != "assistant"
            or not isinstance(content_index, int)
            or not 0 <= content_index < len(item.content)
            or item.content[content_index]["type"] != "output_audio"
        ):
            raise ProtocolError(
                "Only the audio content of assistant messages can be truncated.",
                code="invalid_value",
                param="content_index",
            )
        if self._response is not None and self._response.item is item:
            raise ProtocolError(
                "Cannot truncate an item while its response is still in progress.",
                code="invalid_value",
                param="item_id",
            )
        audio_ms = int(item.audio_seconds * 1000)
        if audio_end_ms > audio_ms:
            raise ProtocolError(
                f"Audio content of {audio_ms}ms is already shorter than {audio_end_ms}ms",
                code="invalid_value",
                param="audio_end_ms",
            )
        assert item.audio is not None
        item.audio = item.audio[: audio_end_ms * SAMPLE_RATE // 1000]
        item.truncated_at_ms = audio_end_ms
        # Like the service: the transcript goes, so no text the user never heard stays.
        item.content[content_index]["transcript"] = ""
        self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": item.id,
                "content_index": content_index,
                "audio_end_ms": audio_end_ms,
            }
        )

    async def _on_item_retrieve(self, event: JsonDict) -> None:
        item = self._item_or_error(event.get("item_id"))
        rendered = item.render(self.dialect)
        if item.audio is not None and rendered.get("content"):
            for part in rendered["content"]:
                if part["type"] in ("input_audio", "output_audio", "audio"):
                    part["audio"] = base64.b64encode(item.audio.astype("<i2").tobytes()).decode()
        self.send({"type": "conversation.item.retrieved", "item": rendered})

    # responses ----------------------------------------------------------

    async def _on_response_create(self, event: JsonDict) -> None:
        if self._response is not None:
            raise ProtocolError(
                f"Conversation already has an active response in progress: {self._response.id}. "
                "Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
            )
        params = event.get("response") or {}
        if not isinstance(params, dict):
            raise invalid_value("response", params)
        await self._start_response(params, client_event_id=event.get("event_id"))

    def _response_options(
        self, params: JsonDict
    ) -> tuple[tuple[str, ...], str, str, dict[str, str] | None, bool, list[ConversationItem]]:
        allowed = _GA_RESPONSE_KEYS if self.dialect is Dialect.GA else _PREVIEW_RESPONSE_KEYS
        for key in params:
            if key not in allowed:
                raise unknown_parameter(f"response.{key}")
        modalities_key = "output_modalities" if self.dialect is Dialect.GA else "modalities"
        modalities = self.config.output_modalities
        if params.get(modalities_key) is not None:
            requested = params[modalities_key]
            if not isinstance(requested, list) or not set(requested) <= {"audio", "text"}:
                raise invalid_value(f"response.{modalities_key}", requested)
            modalities = ("audio",) if "audio" in requested else ("text",)
        if self.history_loaded and self._settings.text_after_history:
            modalities = ("text",)  # the real service's known quirk after text history
        voice = self.config.voice
        output = params.get("audio", {}).get("output", {}) if self.dialect is Dialect.GA else params
        if isinstance(output, dict) and output.get("voice") is not None:
            if output["voice"] not in VOICES:
                raise invalid_value("response.voice", output["voice"], VOICES)
            voice = output["voice"]
        if self.dialect is Dialect.PREVIEW and params.get("temperature") is not None:
            number_in_range(
                "response.temperature", params["temperature"], *PREVIEW_TEMPERATURE_RANGE
            )
        metadata = params.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or len(metadata) > 16
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
        ):
            raise invalid_value("response.metadata", metadata)
        instructions = params.get("instructions") or self.config.instructions
        out_of_band = params.get("conversation") == "none"
        conversation = list(self.items)
        if params.get("input") is not None:
            conversation = [parse_item(i, self._decode_audio) for i in params["input"]]
        return modalities, voice, instructions, metadata, out_of_band, conversation

    async def _start_response(self, params: JsonDict, *, client_event_id: str | None) -> None:
        modalities, voice, instructions, metadata, out_of_band, conversation = (
            self._response_options(params)
        )
        error = self._faults.take_response_error()
        reply: Reply | None = None
        if error is None:
            turn = Turn(instructions, tuple(conversation), modalities, voice, metadata, self.config.tools)
            try:
                reply = await self._responder.respond(turn)
            except Exception:
                logger.exception("simulator responder failed")
                reply = Reply(failure=ErrorSpec("server_error"))
            error = reply.error
        if error is not None or reply is None:
            assert error is not None
            self.send_error_spec(error, client_event_id)
            return
        stall, stall_seconds = self._faults.take_stall()
        drop_after = self._faults.take_drop()
        response = ActiveResponse(
            id=new_id("resp"),
            modalities=modalities,
            voice=voice,
            metadata=metadata,
            out_of_band=out_of_band,
            input_text=" ".join(i.text for i in conversation) + instructions,
            input_audio_s=sum(i.audio_seconds for i in conversation if i.role == "user"),
        )
        self._response = response
        tamper = self._faults.take_reply_tamper(self.id, response.id)
        if tamper is not None:
            self._reply_tamper = tamper
        self.send(
            {"type": "response.created", "response": self._render_response(response, "in_progress")}
        )
        if stall or reply.stall:
            reply = replace(reply, stall=True)
        response.task = asyncio.create_task(
            self._run_response(response, reply, stall_seconds if stall else None, drop_after),
            name=f"sim-response-{response.id}",
        )

    def _render_response(
        self,
        response: ActiveResponse,
        status: str,
        *,
        output: list[JsonDict] | None = None,
        details: JsonDict | None = None,
        usage: JsonDict | None = None,
    ) -> JsonDict:
        return render_response(
            response_id=response.id,
            status=status,
            dialect=self.dialect,
            config=self.config,
            modalities=response.modalities,
            voice=response.voice,
            conversation_id=None if response.out_of_band else self.conversation_id,
            metadata=response.metadata,
            output=output or [],
            status_details=details,
            usage=usage,
        )

    async def _run_response(
        self,
        response: ActiveResponse,
        reply: Reply,
        stall_seconds: float | None,
        drop_after: int | None,
    ) -> None:
        try:
            if reply.stall:
                if stall_seconds is None:
                    await asyncio.Event().wait()  # until response.cancel
                await asyncio.sleep(stall_seconds or 0)
            delay = reply.delay_s + self._faults.response_delay_s
            if delay > 0:
                await asyncio.sleep(delay)
            if reply.failure is not None:
                failure = reply.failure
                self._finish_response(
                    response,
                    "failed",
                    {
                        "type": "failed",
                        "error": {
                            "type": failure.type
                            or ERROR_TYPES.get(failure.code, "invalid_request_error"),
                            "code": failure.code,
                        },
                    },
                )
                return
            if reply.tool_calls:
                await self._stream_function_calls(response, reply)
                self._finish_response(response, "completed")
                return
            audio: np.ndarray | None = None
            spans: list[tuple[int, int]] = []
            if response.audio_out:
                audio, spans = await asyncio.to_thread(
                    render_reply_audio, reply, response.voice, self.config.speed
                )
            self._open_output_item(response)
            if audio is not None:
                await self._stream_audio(response, reply.text, audio, spans, drop_after)
            else:
                await self._stream_text(response, reply.text, drop_after)
            self._finish_response(response, "completed")
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("simulator reply failed")
            if self._response is response:
                self._finish_response(
                    response,
                    "failed",
                    {"type": "failed", "error": {"type": "server_error", "code": "server_error"}},
                )

    async def _stream_function_calls(self, response: ActiveResponse, reply: Reply) -> None:
        """The reply's function calls, one output item each (see ``tools.py``)."""
        for index, call in enumerate(reply.tool_calls):
            item = call_item(call)
            previous = self.items[-1].id if self.items else None
            if not response.out_of_band:
                self.items.append(item)
            response.function_calls.append(item)
            for event in call_events(
                response.id, item, call.arguments, index, previous, self.dialect, in_conversation=not response.out_of_band
            ):
                self.send(event)
            await asyncio.sleep(0)

    def _open_output_item(self, response: ActiveResponse) -> None:
        item = ConversationItem(
            id=new_id("item"), type="message", role="assistant", status="in_progress"
        )
        response.item = item
        if not response.out_of_band:
            response.previous_item_id = self.items[-1].id if self.items else None
            self.items.append(item)
        rendered = item.render(self.dialect)
        self.send(
            {
                "type": "response.output_item.added",
                "response_id": response.id,
                "output_index": 0,
                "item": rendered,
            }
        )
        if not response.out_of_band:
            self._send_item_added(item, response.previous_item_id, done=False)
        part: JsonDict = (
            {"type": "audio", "transcript": ""}
            if response.audio_out
            else {"type": "text", "text": ""}
        )
        item.content = [
            {"type": "output_audio", "transcript": ""}
            if response.audio_out
            else {"type": "output_text", "text": ""}
        ]
        self.send({"type": "response.content_part.added", **self._part_ids(response), "part": part})

    def _part_ids(self, response: ActiveResponse) -> JsonDict:
        assert response.item is not None
        return {
            "response_id": response.id,
            "item_id": response.item.id,
            "output_index": 0,
            "content_index": 0,
        }

    async def _pace_until(self, started: float, audio_position_s: float) -> None:
        """Wait until ``audio_position_s`` of reply audio is due (lead and pace applied)."""
        pace = self._settings.pace
        if pace <= 0:
            await asyncio.sleep(0)
            return
        lead = self._settings.audio_lead_ms / 1000
        due = started + max(0.0, audio_position_s - lead) / pace
        delay = due - time.monotonic()
        await asyncio.sleep(max(0.0, delay))

    async def _stream_audio(
        self,
        response: ActiveResponse,
        text: str,
        audio: np.ndarray,
        spans: list[tuple[int, int]],
        drop_after: int | None,
    ) -> None:
        ids = self._part_ids(response)
        chunk = max(2, SAMPLE_RATE * self._settings.audio_chunk_ms // 1000)
        words = word_schedule(text, spans)
        next_word = 0
        started = time.monotonic()
        for count, start in enumerate(range(0, len(audio), chunk), start=1):
            end = min(start + chunk, len(audio))
            await self._pace_until(started, start / SAMPLE_RATE)
            while next_word < len(words) and words[next_word][0] < end:
                word = words[next_word][1]
                self.send({"type": "response.output_audio_transcript.delta", **ids, "delta": word})
                response.sent_text += word
                next_word += 1
            piece = audio[start:end]
            self.send(
                {
                    "type": "response.output_audio.delta",
                    **ids,
                    "delta": base64.b64encode(piece.astype("<i2").tobytes()).decode(),
                }
            )
            response.sent_audio.append(piece)
            self.assistant_audio_present = True
            if drop_after is not None and count >= drop_after:
                await self._drop_and_wait()
        for _, word in words[next_word:]:
            self.send({"type": "response.output_audio_transcript.delta", **ids, "delta": word})
            response.sent_text += word
        self._close_streams(response)

    async def _stream_text(
        self, response: ActiveResponse, text: str, drop_after: int | None
    ) -> None:
        ids = self._part_ids(response)
        pace = self._settings.pace
        for count, word in enumerate(_WORD.findall(text), start=1):
            interval = self._settings.text_delta_interval_s / pace if pace > 0 else 0
            await asyncio.sleep(interval)
            self.send({"type": "response.output_text.delta", **ids, "delta": word})
            response.sent_text += word
            if drop_after is not None and count >= drop_after:
                await self._drop_and_wait()
        self._close_streams(response)

    async def _drop_and_wait(self) -> None:
        self.abort()
        await asyncio.Event().wait()  # the dead socket ends the session, which cancels us

    def _close_streams(self, response: ActiveResponse) -> None:
        """The ``*.done`` events of the content stream, with what was actually sent."""
        if response.streams_done or response.item is None:
            return
        response.streams_done = True
        ids = self._part_ids(response)
        if response.audio_out:
            self.send({"type": "response.output_audio.done", **ids})
            self.send(
                {
                    "type": "response.output_audio_transcript.done",
                    **ids,
                    "transcript": response.sent_text,
                }
            )
        else:
            self.send({"type": "response.output_text.done", **ids, "text": response.sent_text})

    def _finish_response(
        self, response: ActiveResponse, status: str, details: JsonDict | None = None
    ) -> None:
        """Close the item and the response with what was really sent; frees the conversation."""
        item = response.item
        output: list[JsonDict] = []
        if item is not None:
            self._close_streams(response)
            if response.audio_out:
                part = {"type": "audio", "transcript": response.sent_text}
                item.content = [{"type": "output_audio", "transcript": response.sent_text}]
                item.audio = response.sent_audio_samples
            else:
                part = {"type": "text", "text": response.sent_text}
                item.content = [{"type": "output_text", "text": response.sent_text}]
            item.status = "completed" if status == "completed" else "incomplete"
            self.send(
                {"type": "response.content_part.done", **self._part_ids(response), "part": part}
            )
            rendered = item.render(self.dialect)
            self.send(
                {
                    "type": "response.output_item.done",
                    "response_id": response.id,
                    "output_index": 0,
                    "item": rendered,
                }
            )
            if not response.out_of_band:
                self.send(
                    {
                        "type": "conversation.item.done",
                        "previous_item_id": response.previous_item_id,
                        "item": rendered,
                    }
                )
            output = [rendered]
        output += [call.render(self.dialect) for call in response.function_calls]
        usage = estimate_usage(
            input_text=response.input_text,
            input_audio_s=response.input_audio_s,
            output_text=response.sent_text + "".join(call.arguments or "" for call in response.function_calls),
            output_audio_s=len(response.sent_audio_samples) / SAMPLE_RATE,
            dialect=self.dialect,
        )
        self.send(
            {
                "type": "response.done",
                "response": self._render_response(
                    response, status, output=output, details=details, usage=usage
                ),
            }
        )
        self.send(
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 0.06},
                    {
                        "name": "tokens",
                        "limit": 200_000,
                        "remaining": 200_000 - usage["total_tokens"],
                        "reset_seconds": 0.5,
                    },
                ],
            }
        )
        if self._response is response:
            self._response = None
        tamper = self._reply_tamper
        if tamper is not None and tamper.context.response_id == response.id:
            self._reply_tamper = None

    async def _cancel_response(self, reason: str) -> bool:
        response = self._response
        if response is None:
            return False
        if response.task is not None and not response.task.done():
            response.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await response.task
        if self._response is response:
            self._finish_response(response, "cancelled", {"type": "cancelled", "reason": reason})
        return True

    async def _on_response_cancel(self, event: JsonDict) -> None:
        response_id = event.get("response_id")
        if self._response is None or (response_id and response_id != self._response.id):
            raise ProtocolError(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
            )
        await self._cancel_response("client_cancelled")
