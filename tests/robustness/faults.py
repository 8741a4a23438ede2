"""The fault classes the fuzzer injects, each a small builder over the simulator's tamper hooks.

A class picks, from the round's seeded random source, a variant and its parameters, and says
how to arm it (a reply tamper, a refused ``response.create``, HTTP rejections). The point in
the reply comes from the round: ``before`` (instead of or ahead of ``response.created``),
``mid`` (after N text deltas), ``done`` (at ``response.done``), ``after`` (right after a
completed reply) or ``connect`` (before the first connection). New classes of the same kind
go in ``CLASSES``.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from azassist.simulator.faults import (
    KEEP,
    Abort,
    Action,
    Close,
    Emit,
    Faults,
    Hangup,
    Pause,
    RawBinary,
    RawText,
    Stall,
    TamperContext,
)
from azassist.simulator.responders import ErrorSpec

JsonDict = dict[str, Any]
Make = Callable[[JsonDict, TamperContext], Sequence[Action]]

TEXT_DELTAS = ("response.output_text.delta", "response.output_audio_transcript.delta")
HTTP_STATUSES = (401, 403, 404, 408, 429, 500, 502, 503)
CLOSE_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1012, 1013, 1014, 4000, 4001, 4008, 4999)
FATAL_CODES = ("invalid_api_key", "insufficient_quota", "account_deactivated", "billing_hard_limit_reached")
OTHER_CODES = ("server_error", "rate_limit_exceeded", "session_expired", "invalid_value", "fuzz_unheard_of_code")


@dataclass
class Injection:
    """What one round arms, and what it means for the checks."""

    summary: str
    hook: Callable[[JsonDict, TamperContext], Sequence[Action] | None] | None = None
    refuse_reply: ErrorSpec | None = None  # the target reply's response.create gets an error
    reject_on_connect: tuple[int, int, str] | None = None  # (count, HTTP status, message)
    bytes_may_be_lost: bool = False  # an RST: what was in flight at the target turn may never arrive
    force_audio: bool = False


@dataclass
class Setting:
    """What a fault class is told about the round it is built for."""

    point: str
    after_deltas: int  # for "mid"
    key: str  # the round's API key (faults that quote it test secret leaks)
    faults: Faults


class PointHook:
    """Fires ``make`` once at the round's point of the target reply; afterwards passes every
    event, or drops them (``drop_rest``: the rest of the reply never comes)."""

    def __init__(self, point: str, after_deltas: int, make: Make, *, drop_rest: bool = False) -> None:
        self.point = point
        self.after_deltas = after_deltas
        self.make = make
        self.drop_rest = drop_rest
        self.fired = False
        self.fired_in: str | None = None  # the response id of the reply it fired in

    def _due(self, event: JsonDict, context: TamperContext) -> bool:
        kind = event.get("type")
        if self.point == "before":
            return kind == "response.created"
        if self.point == "mid":
            return kind in TEXT_DELTAS and context.text_deltas >= self.after_deltas
        if self.point == "done":
            return kind == "response.done"
        if self.point == "after":
            return kind == "rate_limits.updated"
        return False

    def __call__(self, event: JsonDict, context: TamperContext) -> Sequence[Action] | None:
        if self.fired:
            return [] if self.drop_rest else None
        if not self._due(event, context):
            return None
        self.fired = True
        self.fired_in = context.response_id
        return self.make(event, context)


def _around(point: str, inject: Sequence[Action], *, replace: bool = False) -> Make:
    """Inject before the trigger event (after it at ``after``); ``replace`` drops the trigger."""

    def make(event: JsonDict, context: TamperContext) -> Sequence[Action]:
        if replace:
            return list(inject)
        return [KEEP, *inject] if point == "after" else [*inject, KEEP]

    return make


def _ids(event: JsonDict, context: TamperContext) -> JsonDict:
    return {
        "response_id": context.response_id,
        "item_id": context.item_id or event.get("item_id") or "item_fuzz_unknown",
        "output_index": 0,
        "content_index": 0,
    }


def _delta_type(event: JsonDict, audio: bool) -> str:
    if event.get("type") in TEXT_DELTAS:
        return str(event["type"])
    return TEXT_DELTAS[1] if audio else TEXT_DELTAS[0]


def _error(code: str, message: str, *, param: str | None = None) -> JsonDict:
    kind = "invalid_request_error" if code in ("invalid_api_key", "invalid_value") else "server_error"
    if code in ("insufficient_quota", "rate_limit_exceeded"):
        kind = "insufficient_quota" if code == "insufficient_quota" else "rate_limit_error"
    return {"type": "error", "error": {"type": kind, "code": code, "message": message, "param": param, "event_id": None}}


def _hook(s: Setting, make: Make, *, drop_rest: bool = False) -> PointHook:
    return PointHook(s.point, s.after_deltas, make, drop_rest=drop_rest)


# --------------------------------------------------------------------------- the classes


def stall_socket(rng: random.Random, s: Setting) -> Injection:
    """The server stops sending, for good, with the socket open (and still read)."""
    replace = s.point != "after"
    return Injection(f"stall the socket at {s.point}", _hook(s, _around(s.point, [Stall()], replace=replace)))


def reply_goes_silent(rng: random.Random, s: Setting) -> Injection:
    """This reply's events stop (no more deltas, no response.done); the session lives on."""
    return Injection(f"reply silent from {s.point}", _hook(s, lambda e, c: [], drop_rest=True))


def no_response_done(rng: random.Random, s: Setting) -> Injection:
    """Everything but the reply's response.done."""
    return Injection("drop response.done", PointHook("done", 0, lambda e, c: []))


def refused_reply(rng: random.Random, s: Setting) -> Injection:
    """response.create answered with an ``error`` event; no reply follows (sometimes closed)."""
    code = rng.choice((*OTHER_CODES, *FATAL_CODES))
    close = rng.random() < 0.3
    return Injection(f"response.create refused: {code}" + (" + close" if close else ""), refuse_reply=ErrorSpec(code, None, None, close))


def huge_text_delta(rng: random.Random, s: Setting) -> Injection:
    """One transcript delta of 16-64 KB (valid, just large)."""
    size = rng.randint(16, 64) * 1024
    words = " ".join(f"huge{n}" for n in range(size // 7))

    def make(event: JsonDict, context: TamperContext) -> Sequence[Action]:
        forged = {"type": _delta_type(event, False), **_ids(event, context), "delta": f" {words} "}
        return [Emit(forged, validate=True), KEEP]

    return Injection(f"text delta of {len(words) // 1024} KB", PointHook("mid", s.after_deltas, make))


def huge_audio_delta(rng: random.Random, s: Setting) -> Injection:
    """One audio delta of 1-6 MB of PCM (base64 grows it by a third: over aiohttp's 4 MB frame
    limit from 3 MB on)."""
    size = rng.randint(1, 6) * 1024 * 1024
    audio = base64.b64encode(rng.randbytes(size)).decode()

    def make(event: JsonDict, context: TamperContext) -> Sequence[Action]:
        forged = {"type": "response.output_audio.delta", **_ids(event, context), "delta": audio}
        return [Emit(forged, validate=True), KEEP]

    return Injection(f"audio delta of {size // 1024 // 1024} MB", PointHook("mid", s.after_deltas, make), force_audio=True)


_NOT_JSON = (
    '{"type": "response.output_text.delta", "delta": "cut sho',
    "not json at all",
    "",
    "{'type': 'error'}",
    '{"type": }',
    "[" * 50_000 + "]" * 50_000,  # nests deeper than any JSON parser's recursion limit
    "\ufeff{}",
)
_JSON_NOT_OBJECT = ("[1, 2, 3]", "null", "42", '"response.done"', "true", "[]")


def bad_json(rng: random.Random, s: Setting) -> Injection:
    """A text frame that is not JSON, or JSON that is not an object."""
    text = rng.choice(_NOT_JSON + _JSON_NOT_OBJECT)
    shown = text if len(text) < 40 else text[:20] + f"...({len(text)} chars)"
    return Injection(f"non-JSON frame {shown!r} at {s.point}", _hook(s, _around(s.point, [RawText(text)])))


def binary_frame(rng: random.Random, s: Setting) -> Injection:
    size = rng.choice((1, 17, 4096, 65_536))
    return Injection(f"binary frame of {size} bytes at {s.point}", _hook(s, _around(s.point, [RawBinary(rng.randbytes(size))])))


def unknown_event(rng: random.Random, s: Setting) -> Injection:
    kind = rng.choice(("response.future_feature", "session.heartbeat", "conversation.item.reaction", "x" * 300, ""))
    event = {"type": kind, "payload": {"nested": [1, None, "x"]}, "response_id": None}
    return Injection(f"unknown event type {kind[:30]!r} at {s.point}", _hook(s, _around(s.point, [Emit(event)])))


def out_of_order(rng: random.Random, s: Setting) -> Injection:
    """Events that reference what does not exist (yet or any more)."""
    variant = rng.choice(("delta-unknown-response", "delta-unknown-item", "done-before-created", "item-done-before-added",
                          "second-created", "delta-after-done", "transcription-unknown-item"))  # fmt: skip

    def make(event: JsonDict, context: TamperContext) -> Sequence[Action]:
        ids = _ids(event, context)
        if variant == "delta-unknown-response":
            forged = {"type": _delta_type(event, False), **ids, "response_id": "resp_fuzz_unknown", "delta": " stray"}
        elif variant == "delta-unknown-item":
            forged = {"type": _delta_type(event, False), **ids, "item_id": "item_fuzz_unknown", "delta": " stray"}
        elif variant == "done-before-created":
            forged = {"type": "response.done", "response": {"object": "realtime.response", "id": context.response_id,
                                                              "status": "completed", "output": []}}  # fmt: skip
        elif variant == "item-done-before-added":
            forged = {"type": "response.output_item.done", "response_id": context.response_id, "output_index": 0,
                      "item": {"id": "item_fuzz_unknown", "type": "message", "role": "assistant", "status": "completed",
                               "content": []}}  # fmt: skip
        elif variant == "second-created":
            forged = {"type": "response.created", "response": {"object": "realtime.response", "id": "resp_fuzz_second",
                                                                 "status": "in_progress", "output": []}}  # fmt: skip
        elif variant == "delta-after-done":
            forged = {"type": "response.output_audio.delta", **ids, "delta": base64.b64encode(bytes(4800)).decode()}
        else:
            forged = {"type": "conversation.item.input_audio_transcription.completed", "item_id": "item_fuzz_unknown",
                      "content_index": 0, "transcript": "stray words"}  # fmt: skip
        return [Emit(forged), KEEP] if s.point != "after" and variant != "delta-after-done" else [KEEP, Emit(forged)]

    point = {"done-before-created": "before", "item-done-before-added": "before", "delta-after-done": "after"}.get(variant, s.point)
    return Injection(f"out of order: {variant} at {point}", PointHook(point, s.after_deltas, make))


def mistyped_fields(rng: random.Random, s: Setting) -> Injection:
    """The event at the point, with a field missing, null or of the wrong type."""
    point = s.point if s.point in ("before", "mid", "done") else "done"
    if point == "mid":
        variant = rng.choice(("delta=42", "delta=null", "delta=list", "delta=object", "no delta", "no response_id", "item_id=7"))
    elif point == "before":
        variant = rng.choice(("no response", "response=null", "response=str", "response.id=5", "no type"))
    else:
        variant = rng.choice(("no response", "response=null", "status=7", "usage=str", "output=dict", "response.id=null"))

    def make(event: JsonDict, context: TamperContext) -> Sequence[Action]:
        forged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in event.items()}
        if variant.startswith("delta="):
            forged["delta"] = {"delta=42": 42, "delta=null": None, "delta=list": ["a"], "delta=object": {"a": 1}}[variant]
        elif variant == "no delta":
            del forged["delta"]
        elif variant == "no response_id":
            del forged["response_id"]
        elif variant == "item_id=7":
            forged["item_id"] = 7
        elif variant == "no response":
            del forged["response"]
        elif variant == "response=null":
            forged["response"] = None
        elif variant == "response=str":
            forged["response"] = "resp"
        elif variant in ("response.id=5", "response.id=null"):
            forged["response"]["id"] = 5 if variant.endswith("5") else None
        elif variant == "no type":
            del forged["type"]
        elif variant == "status=7":
            forged["response"]["status"] = 7
        elif variant == "usage=str":
            forged["response"]["usage"] = "lots"
        elif variant == "output=dict":
            forged["response"]["output"] = {"not": "a list"}
        return [Emit(forged)]

    return Injection(f"mistyped field at {point}: {variant}", PointHook(point, s.after_deltas, make))


def error_mid_reply(rng: random.Random, s: Setting) -> Injection:
    """A non-fatal ``error`` event while the reply goes on."""
    code = rng.choice(("rate_limit_exceeded", "invalid_value", "conversation_already_has_active_response", "fuzz_unheard_of_code"))
    malformed = rng.random() < 0.25
    event: JsonDict = {"type": "error", "error": "a string, not an object"} if malformed else _error(code, f"Simulated {code}.")
    what = "malformed error event" if malformed else f"non-fatal error {code}"
    return Injection(f"{what} at {s.point}", _hook(s, _around(s.point, [Emit(event, validate=not malformed)])))


def fatal_error(rng: random.Random, s: Setting) -> Injection:
    """An ``error`` the service ends the session with (then usually closes)."""
    code = rng.choice((*FATAL_CODES, *OTHER_CODES))
    close = rng.random() < 0.7
    inject: list[Action] = [Emit(_error(code, f"Simulated fatal {code}."), validate=True)]
    if close:
        inject.append(Close(rng.choice((1000, 1008, 1011))))
    return Injection(f"fatal error {code}{' + close' if close else ''} at {s.point}", _hook(s, _around(s.point, inject, replace=close and s.point != "after")))


def error_quoting_the_key(rng: random.Random, s: Setting) -> Injection:
    """An error whose message (and param) quote the request's headers, API key included."""
    code = rng.choice(("invalid_request_error", "invalid_api_key", "server_error", "fuzz_unheard_of_code"))
    message = (f"Request rejected. Headers: {{'api-key': '{s.key}', 'Authorization': 'Bearer {s.key}', "
               f"'Host': '127.0.0.1'}} url=wss://127.0.0.1/openai/v1/realtime?api-key={s.key}")  # fmt: skip
    inject: list[Action] = [Emit(_error(code, message, param=f"api-key={s.key}"), validate=True)]
    if rng.random() < 0.4:
        inject.append(Close(1008, "policy"))
    return Injection(f"error {code} quoting the key at {s.point}", _hook(s, _around(s.point, inject)))


def ws_close(rng: random.Random, s: Setting) -> Injection:
    code = rng.choice(CLOSE_CODES)
    reason = rng.choice(("", "going away", "x" * 120))
    replace = s.point != "after"
    return Injection(f"close {code} at {s.point}", _hook(s, _around(s.point, [Close(code, reason)], replace=replace)))


def socket_drop(rng: random.Random, s: Setting) -> Injection:
    """The TCP connection goes without a close frame: RST (bytes in flight lost) or FIN."""
    rst = s.point != "after" and rng.random() < 0.5
    action: Action = Abort() if rst else Hangup()
    replace = s.point != "after"
    injection = Injection(f"{'RST' if rst else 'FIN'} drop at {s.point}", _hook(s, _around(s.point, [action], replace=replace)))
    injection.bytes_may_be_lost = rst
    return injection


def http_reject_connect(rng: random.Random, s: Setting) -> Injection:
    """The first WebSocket upgrades are answered with an HTTP error (LiveKit retries 3 times)."""
    status = rng.choice(HTTP_STATUSES)
    count = rng.choice((1, 2, 10))
    message = f"Rejected by the fuzzer (api-key {s.key})" if rng.random() < 0.3 else "Rejected by the fuzzer."
    return Injection(f"HTTP {status} x{count} on connect", reject_on_connect=(count, status, message))


def http_reject_reconnect(rng: random.Random, s: Setting) -> Injection:
    """The connection drops at the point and the reconnects are refused with HTTP errors."""
    status = rng.choice(HTTP_STATUSES)
    count = rng.choice((1, 3, 10))
    point = s.point if s.point in ("mid", "after") else "after"
    drop: Action = rng.choice((Hangup(), Close(1011, "server restarting"), Close(1012)))
    faults = s.faults

    def make(event: JsonDict, context: TamperContext) -> Sequence[Action]:
        faults.reject_next_connections(count, status=status, code=str(status), message="Rejected by the fuzzer.")
        return [KEEP, drop] if point == "after" else [drop]

    return Injection(f"{type(drop).__name__} at {point}, then HTTP {status} x{count} on reconnect", PointHook(point, s.after_deltas, make))


def slow_network(rng: random.Random, s: Setting) -> Injection:
    """The writer pauses 0.5-3 s mid-stream, then carries on: nothing is wrong but latency."""
    seconds = round(rng.uniform(0.5, 3.0), 2)
    return Injection(f"pause {seconds} s at {s.point}", _hook(s, _around(s.point, [Pause(seconds)])))


@dataclass(frozen=True)
class FaultClass:
    name: str
    build: Callable[[random.Random, Setting], Injection]
    points: tuple[str, ...] = ("before", "mid", "after")
    notes: str = field(default="", compare=False)


CLASSES: tuple[FaultClass, ...] = (
    FaultClass("stall-socket", stall_socket),
    FaultClass("reply-silent", reply_goes_silent, ("before", "mid")),
    FaultClass("no-response-done", no_response_done, ("done",)),
    FaultClass("refused-reply", refused_reply, ("before",)),
    FaultClass("huge-text-delta", huge_text_delta, ("mid",)),
    FaultClass("huge-audio-delta", huge_audio_delta, ("mid",)),
    FaultClass("bad-json", bad_json),
    FaultClass("binary-frame", binary_frame),
    FaultClass("unknown-event", unknown_event),
    FaultClass("out-of-order", out_of_order),
    FaultClass("mistyped-field", mistyped_fields, ("before", "mid", "done")),
    FaultClass("error-nonfatal", error_mid_reply, ("before", "mid", "after")),
    FaultClass("error-fatal", fatal_error),
    FaultClass("error-leaks-key", error_quoting_the_key),
    FaultClass("ws-close", ws_close),
    FaultClass("socket-drop", socket_drop),
    FaultClass("http-reject-connect", http_reject_connect, ("connect",)),
    FaultClass("http-reject-reconnect", http_reject_reconnect, ("mid", "after")),
    FaultClass("slow-network", slow_network, ("before", "mid")),
)

BY_NAME = {c.name: c for c in CLASSES}
