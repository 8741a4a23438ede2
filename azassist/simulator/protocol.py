"""The two wire dialects (GA and legacy preview): session shapes, items, responses, errors.

Everything inside the simulator is kept in one canonical (GA) form; this module turns it into
what each generation of the Azure protocol puts on the wire, and parses what clients send.
Allowed parameter names come from the official openai-python models, so "unknown parameter"
errors match what those models (and the service) know.
"""

from __future__ import annotations

import enum
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from openai.types.beta.realtime import session_update_event as preview_session_update
from openai.types.realtime import (
    RealtimeAudioConfigInput,
    RealtimeAudioConfigOutput,
    RealtimeSessionCreateRequest,
)
from openai.types.realtime.realtime_audio_config import RealtimeAudioConfig
from openai.types.realtime.realtime_audio_input_turn_detection import SemanticVad, ServerVad

from .vad import SAMPLE_RATE, VadSettings

JsonDict = dict[str, Any]


class Dialect(enum.Enum):
    """GA (``/openai/v1/realtime``) or the deprecated preview (``/openai/realtime``)."""

    GA = "ga"
    PREVIEW = "preview"


VOICES: tuple[str, ...] = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
DEFAULT_VOICE = "alloy"
DEFAULT_MODEL = "gpt-realtime"
DEFAULT_INSTRUCTIONS = "You are a helpful assistant running in a local simulator."
PREVIEW_TEMPERATURE_RANGE = (0.6, 1.2)
SPEED_RANGE = (0.25, 1.5)
MIN_COMMIT_MS = 100

# GA server event name -> preview name (the inverse of the LiveKit plugin's Azure mapping).
_PREVIEW_EVENT_NAMES: dict[str, str] = {
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "conversation.item.added": "conversation.item.created",
}
# GA events with no preview counterpart: not sent on the preview path.
_GA_ONLY_EVENTS = frozenset({"conversation.item.done"})

# Canonical (GA) content part types -> preview types.
_PREVIEW_CONTENT_TYPES = {"output_text": "text", "output_audio": "audio"}
_CANONICAL_CONTENT_TYPES = {"text": "output_text", "audio": "output_audio"}

_GA_SESSION_KEYS = frozenset(RealtimeSessionCreateRequest.model_fields)
_GA_AUDIO_KEYS = frozenset(RealtimeAudioConfig.model_fields)
_GA_AUDIO_INPUT_KEYS = frozenset(RealtimeAudioConfigInput.model_fields)
_GA_AUDIO_OUTPUT_KEYS = frozenset(RealtimeAudioConfigOutput.model_fields)
_PREVIEW_SESSION_KEYS = frozenset(preview_session_update.Session.model_fields)
_SERVER_VAD_KEYS = frozenset(ServerVad.model_fields)
_SEMANTIC_VAD_KEYS = frozenset(SemanticVad.model_fields)
_PREVIEW_TURN_DETECTION_KEYS = frozenset(preview_session_update.SessionTurnDetection.model_fields)

# semantic_vad has no numbers: we behave like server_vad with a silence that follows eagerness.
SEMANTIC_SILENCE_MS: dict[str, int] = {"low": 800, "medium": 500, "auto": 500, "high": 250}

_ID_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """Ids shaped like the service's (``event_``, ``item_``, ``resp_``... + 20 characters)."""
    return f"{prefix}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


def event_name(ga_name: str, dialect: Dialect) -> str | None:
    """The wire name of a server event in ``dialect`` (None: the dialect has no such event)."""
    if dialect is Dialect.GA:
        return ga_name
    if ga_name in _GA_ONLY_EVENTS:
        return None
    return _PREVIEW_EVENT_NAMES.get(ga_name, ga_name)


class ProtocolError(Exception):
    """A client mistake answered with an ``error`` event (the connection stays open)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        param: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.type = type


def unknown_parameter(param: str) -> ProtocolError:
    return ProtocolError(f"Unknown parameter: '{param}'.", code="unknown_parameter", param=param)


def invalid_value(param: str, value: Any, allowed: tuple[str, ...] | None = None) -> ProtocolError:
    message = f"Invalid value: '{value}'."
    if allowed:
        message += " Supported values are: " + ", ".join(f"'{v}'" for v in allowed) + "."
    return ProtocolError(message, code="invalid_value", param=param)


def number_in_range(param: str, value: Any, low: float | None, high: float | None) -> float:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if not (is_int or isinstance(value, float)):
        raise ProtocolError(
            f"Invalid type for '{param}': expected a decimal, "
            f"but got {type(value).__name__} instead.",
            code="invalid_type",
            param=param,
        )
    kind = "integer" if is_int else "decimal"
    if low is not None and value < low:
        raise ProtocolError(
            f"Invalid '{param}': {kind} below minimum value. "
            f"Expected a value >= {low:g}, but got {value:g} instead.",
            code=f"{kind}_below_min_value",
            param=param,
        )
    if high is not None and value > high:
        raise ProtocolError(
            f"Invalid '{param}': {kind} above maximum value. "
            f"Expected a value <= {high:g}, but got {value:g} instead.",
            code=f"{kind}_above_max_value",
            param=param,
        )
    return float(value)


def _integer_at_least(param: str, value: Any, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(
            f"Invalid type for '{param}': expected an integer, but got "
            f"{type(value).__name__} instead.",
            code="invalid_type",
            param=param,
        )
    number_in_range(param, value, low, None)
    return value


def _check_keys(obj: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
    for key in obj:
        if key not in allowed:
            raise unknown_parameter(f"{prefix}.{key}")


def _require_object(value: Any, param: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError(
            f"Invalid type for '{param}': expected an object, but got {type(value).__name__}.",
            code="invalid_type",
            param=param,
        )
    return value


# --------------------------------------------------------------------------- session config


@dataclass(frozen=True)
class TurnDetection:
    """Server-side turn taking as configured by the client (server_vad or semantic_vad)."""

    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 200
    create_response: bool = True
    interrupt_response: bool = True
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"
    idle_timeout_ms: int | None = None

    def vad_settings(self) -> VadSettings:
        if self.type == "semantic_vad":
            # Not simulated: no semantic model. Default numbers, silence from eagerness.
            return VadSettings(0.5, 300, SEMANTIC_SILENCE_MS[self.eagerness])
        return VadSettings(self.threshold, self.prefix_padding_ms, self.silence_duration_ms)


@dataclass(frozen=True)
class SessionConfig:
    """The session as the server applied it: what ``session.updated`` reflects."""

    model: str = DEFAULT_MODEL
    instructions: str = DEFAULT_INSTRUCTIONS
    output_modalities: tuple[str, ...] = ("audio",)
    voice: str = DEFAULT_VOICE
    speed: float = 1.0
    temperature: float = 0.8  # preview only; GA has none
    turn_detection: TurnDetection | None = field(default_factory=TurnDetection)
    transcription: JsonDict | None = None
    noise_reduction: JsonDict | None = None
    tools: tuple[JsonDict, ...] = ()
    tool_choice: Any = "auto"
    max_output_tokens: int | str = "inf"
    tracing: Any = None
    truncation: Any = "auto"

    @property
    def audio_output(self) -> bool:
        return "audio" in self.output_modalities


def _parse_turn_detection(value: Any, param: str, dialect: Dialect) -> TurnDetection | None:
    if value is None:
        return None
    obj = _require_object(value, param)
    kind = obj.get("type", "server_vad")
    if kind not in ("server_vad", "semantic_vad"):
        raise invalid_value(f"{param}.type", kind, ("server_vad", "semantic_vad"))
    if dialect is Dialect.PREVIEW:
        allowed = _PREVIEW_TURN_DETECTION_KEYS
    else:
        allowed = _SERVER_VAD_KEYS if kind == "server_vad" else _SEMANTIC_VAD_KEYS
    _check_keys(obj, allowed, param)
    defaults = TurnDetection(type=kind)
    threshold = obj.get("threshold")
    padding = obj.get("prefix_padding_ms")
    silence = obj.get("silence_duration_ms")
    eagerness = obj.get("eagerness")
    idle_timeout = obj.get("idle_timeout_ms")
    if eagerness is not None and eagerness not in SEMANTIC_SILENCE_MS:
        raise invalid_value(f"{param}.eagerness", eagerness, tuple(SEMANTIC_SILENCE_MS))
    return TurnDetection(
        type=kind,
        threshold=defaults.threshold
        if threshold is None
        else number_in_range(f"{param}.threshold", threshold, 0.0, 1.0),
        prefix_padding_ms=defaults.prefix_padding_ms
        if padding is None
        else _integer_at_least(f"{param}.prefix_padding_ms", padding, 0),
        silence_duration_ms=defaults.silence_duration_ms
        if silence is None
        else _integer_at_least(f"{param}.silence_duration_ms", silence, 0),
        create_response=bool(obj.get("create_response", True)),
        interrupt_response=bool(obj.get("interrupt_response", True)),
        eagerness=eagerness or "auto",
        idle_timeout_ms=None
        if idle_timeout is None
        else _integer_at_least(f"{param}.idle_timeout_ms", idle_timeout, 0),
    )


def _parse_voice(value: Any, param: str, current: SessionConfig, audio_present: bool) -> str:
    if value not in VOICES:
        raise invalid_value(param, value, VOICES)
    if value != current.voice and audio_present:
        raise ProtocolError(
            "Cannot update a conversation's voice if assistant audio is present.",
            code="cannot_update_voice",
            param=param,
        )
    return str(value)


def _parse_modalities(value: Any, param: str, dialect: Dialect) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise invalid_value(param, value)
    chosen = sorted(set(value))
    if dialect is Dialect.GA:
        # GA answers either in audio (with a transcript) or in text, never both.
        if chosen not in (["audio"], ["text"]):
            raise ProtocolError(
                f"Invalid modalities: {value}. Supported combinations are: ['text'] and ['audio'].",
                code="invalid_value",
                param=param,
            )
        return tuple(chosen)
    if chosen not in (["audio", "text"], ["text"]):
        raise ProtocolError(
            f"Invalid modalities: {value}. Supported combinations are: ['text'] and "
            "['audio', 'text'].",
            code="invalid_value",
            param=param,
        )
    return ("audio",) if "audio" in chosen else ("text",)


def _parse_ga_format(value: Any, param: str) -> None:
    obj = _require_object(value, param)
    if obj.get("type") != "audio/pcm":
        raise invalid_value(f"{param}.type", obj.get("type"), ("audio/pcm",))
    if obj.get("rate", SAMPLE_RATE) != SAMPLE_RATE:
        raise invalid_value(f"{param}.rate", obj.get("rate"), (str(SAMPLE_RATE),))


def _parse_preview_format(value: Any, param: str) -> None:
    if value != "pcm16":
        raise invalid_value(param, value, ("pcm16",))


def _parse_max_tokens(value: Any, param: str) -> int | str:
    if value == "inf":
        return "inf"
    return int(number_in_range(param, value, 1, 4096))


def apply_session_update(
    current: SessionConfig,
    session: Any,
    dialect: Dialect,
    *,
    assistant_audio_present: bool,
) -> SessionConfig:
    """The config after a ``session.update``; raises ProtocolError, applying nothing, on error.

    All-or-nothing like the service: one bad value rejects the whole update.
    """
    obj = _require_object(session, "session")
    if dialect is Dialect.GA:
        return _apply_ga(current, obj, assistant_audio_present)
    return _apply_preview(current, obj, assistant_audio_present)


def _apply_common(current: SessionConfig, obj: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "instructions" in obj:
        instructions = obj["instructions"]
        if not isinstance(instructions, str):
            raise invalid_value("session.instructions", instructions)
        changes["instructions"] = instructions
    if "tools" in obj:
        tools = obj["tools"] or []
        if not isinstance(tools, list):
            raise invalid_value("session.tools", tools)
        changes["tools"] = tuple(dict(t) for t in tools)
    if "tool_choice" in obj:
        changes["tool_choice"] = obj["tool_choice"]
    if "tracing" in obj:
        changes["tracing"] = obj["tracing"]
    return changes


def _apply_ga(current: SessionConfig, obj: Mapping[str, Any], audio_present: bool) -> SessionConfig:
    if "temperature" in obj:
        raise unknown_parameter("session.temperature")
    _check_keys(obj, _GA_SESSION_KEYS, "session")
    if obj.get("type") != "realtime":
        if "type" not in obj:
            raise ProtocolError(
                "Missing required parameter: 'session.type'.",
                code="missing_required_parameter",
                param="session.type",
            )
        raise invalid_value("session.type", obj.get("type"), ("realtime",))
    changes = _apply_common(current, obj)
    if "output_modalities" in obj:
        changes["output_modalities"] = _parse_modalities(
            obj["output_modalities"], "session.output_modalities", Dialect.GA
        )
    if "max_output_tokens" in obj and obj["max_output_tokens"] is not None:
        changes["max_output_tokens"] = _parse_max_tokens(
            obj["max_output_tokens"], "session.max_output_tokens"
        )
    if "truncation" in obj:
        changes["truncation"] = obj["truncation"]
    audio = obj.get("audio")
    if audio is not None:
        audio = _require_object(audio, "session.audio")
        _check_keys(audio, _GA_AUDIO_KEYS, "session.audio")
        audio_in = audio.get("input")
        if audio_in is not None:
            audio_in = _require_object(audio_in, "session.audio.input")
            _check_keys(audio_in, _GA_AUDIO_INPUT_KEYS, "session.audio.input")
            if audio_in.get("format") is not None:
                _parse_ga_format(audio_in["format"], "session.audio.input.format")
            _apply_input_audio(changes, audio_in, Dialect.GA)
        audio_out = audio.get("output")
        if audio_out is not None:
            audio_out = _require_object(audio_out, "session.audio.output")
            _check_keys(audio_out, _GA_AUDIO_OUTPUT_KEYS, "session.audio.output")
            if audio_out.get("format") is not None:
                _parse_ga_format(audio_out["format"], "session.audio.output.format")
            if audio_out.get("voice") is not None:
                changes["voice"] = _parse_voice(
                    audio_out["voice"], "session.audio.output.voice", current, audio_present
                )
            if audio_out.get("speed") is not None:
                changes["speed"] = number_in_range(
                    "session.audio.output.speed", audio_out["speed"], *SPEED_RANGE
                )
    return replace(current, **changes)


def _apply_preview(
    current: SessionConfig, obj: Mapping[str, Any], audio_present: bool
) -> SessionConfig:
    _check_keys(obj, _PREVIEW_SESSION_KEYS, "session")
    changes = _apply_common(current, obj)
    if "modalities" in obj:
        changes["output_modalities"] = _parse_modalities(
            obj["modalities"], "session.modalities", Dialect.PREVIEW
        )
    for key in ("input_audio_format", "output_audio_format"):
        if obj.get(key) is not None:
            _parse_preview_format(obj[key], f"session.{key}")
    if obj.get("voice") is not None:
        changes["voice"] = _parse_voice(obj["voice"], "session.voice", current, audio_present)
    if obj.get("temperature") is not None:
        changes["temperature"] = number_in_range(
            "session.temperature", obj["temperature"], *PREVIEW_TEMPERATURE_RANGE
        )
    if obj.get("speed") is not None:
        changes["speed"] = number_in_range("session.speed", obj["speed"], *SPEED_RANGE)
    if "max_response_output_tokens" in obj and obj["max_response_output_tokens"] is not None:
        changes["max_output_tokens"] = _parse_max_tokens(
            obj["max_response_output_tokens"], "session.max_response_output_tokens"
        )
    _apply_input_audio(changes, obj, Dialect.PREVIEW)
    return replace(current, **changes)


# Where each dialect keeps the input-audio settings: (object path, field names).
_INPUT_AUDIO_FIELDS: dict[Dialect, tuple[str, dict[str, str]]] = {
    Dialect.GA: (
        "session.audio.input",
        {
            "turn_detection": "turn_detection",
            "transcription": "transcription",
            "noise_reduction": "noise_reduction",
        },
    ),
    Dialect.PREVIEW: (
        "session",
        {
            "turn_detection": "turn_detection",
            "transcription": "input_audio_transcription",
            "noise_reduction": "input_audio_noise_reduction",
        },
    ),
}


def _apply_input_audio(changes: dict[str, Any], obj: Mapping[str, Any], dialect: Dialect) -> None:
    """Turn detection, transcription and noise reduction: present means replace, null = off."""
    path, names = _INPUT_AUDIO_FIELDS[dialect]
    for setting, name in names.items():
        if name not in obj:
            continue
        if setting == "turn_detection":
            changes[setting] = _parse_turn_detection(obj[name], f"{path}.{name}", dialect)
        else:
            changes[setting] = _optional_object(obj[name], f"{path}.{name}")


def _optional_object(value: Any, param: str) -> JsonDict | None:
    if value is None:
        return None
    return {k: v for k, v in _require_object(value, param).items() if v is not None}


def _render_turn_detection(td: TurnDetection | None, dialect: Dialect) -> JsonDict | None:
    if td is None:
        return None
    if td.type == "semantic_vad":
        return {
            "type": "semantic_vad",
            "eagerness": td.eagerness,
            "create_response": td.create_response,
            "interrupt_response": td.interrupt_response,
        }
    rendered: JsonDict = {
        "type": "server_vad",
        "threshold": td.threshold,
        "prefix_padding_ms": td.prefix_padding_ms,
        "silence_duration_ms": td.silence_duration_ms,
        "create_response": td.create_response,
        "interrupt_response": td.interrupt_response,
    }
    if dialect is Dialect.GA:
        rendered["idle_timeout_ms"] = td.idle_timeout_ms
    return rendered


PCM_FORMAT_GA: JsonDict = {"type": "audio/pcm", "rate": SAMPLE_RATE}


def render_session(config: SessionConfig, dialect: Dialect, session_id: str) -> JsonDict:
    """The ``session`` object of ``session.created`` / ``session.updated`` in ``dialect``."""
    if dialect is Dialect.GA:
        return {
            "type": "realtime",
            "model": config.model,
            "output_modalities": list(config.output_modalities),
            "instructions": config.instructions,
            "audio": {
                "input": {
                    "format": dict(PCM_FORMAT_GA),
                    "noise_reduction": config.noise_reduction,
                    "transcription": config.transcription,
                    "turn_detection": _render_turn_detection(config.turn_detection, dialect),
                },
                "output": {
                    "format": dict(PCM_FORMAT_GA),
                    "voice": config.voice,
                    "speed": config.speed,
                },
            },
            "tools": list(config.tools),
            "tool_choice": config.tool_choice,
            "max_output_tokens": config.max_output_tokens,
            "tracing": config.tracing,
            "truncation": config.truncation,
        }
    return {
        "id": session_id,
        "model": config.model,
        "modalities": ["audio", "text"] if config.audio_output else ["text"],
        "instructions": config.instructions,
        "voice": config.voice,
        "input_audio_format": "pcm16",
        "output_audio_format": "pcm16",
        "input_audio_transcription": config.transcription,
        "input_audio_noise_reduction": config.noise_reduction,
        "turn_detection": _render_turn_detection(config.turn_detection, dialect),
        "tools": list(config.tools),
        "tool_choice": config.tool_choice if isinstance(config.tool_choice, str) else "auto",
        "temperature": config.temperature,
        "max_response_output_tokens": config.max_output_tokens,
        "speed": config.speed,
        "tracing": config.tracing,
    }


# --------------------------------------------------------------------------- items


@dataclass
class ConversationItem:
    """One item of the server-side conversation, in canonical (GA) form.

    ``audio`` keeps the samples behind an audio part: the user's committed utterance (what the
    echo responder plays back) or the assistant's reply (what truncation cuts).
    """

    id: str
    type: Literal["message", "function_call", "function_call_output"]
    role: Literal["user", "assistant", "system"] | None = None
    status: Literal["completed", "incomplete", "in_progress"] = "completed"
    content: list[JsonDict] = field(default_factory=list)
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    audio: np.ndarray | None = None
    speech_seconds: float | None = None  # what the VAD measured for a committed utterance
    truncated_at_ms: int | None = None

    @property
    def text(self) -> str:
        """The words of the item: typed text or transcripts, as the responders see them."""
        parts = [p.get("text") or p.get("transcript") or "" for p in self.content]
        return " ".join(p for p in parts if p)

    @property
    def audio_seconds(self) -> float:
        return 0.0 if self.audio is None else len(self.audio) / SAMPLE_RATE

    @property
    def speech_length(self) -> float:
        """Seconds of speech: the VAD's measure when known, else the audio's length."""
        return self.speech_seconds if self.speech_seconds is not None else self.audio_seconds

    def render(self, dialect: Dialect) -> JsonDict:
        rendered: JsonDict = {"id": self.id, "object": "realtime.item", "type": self.type}
        if self.type == "message":
            rendered["role"] = self.role
            rendered["status"] = self.status
            rendered["content"] = [_render_part(p, dialect) for p in self.content]
        elif self.type == "function_call":
            rendered.update(
                status=self.status, call_id=self.call_id, name=self.name, arguments=self.arguments
            )
        else:
            rendered.update(call_id=self.call_id, output=self.output)
        return rendered


def _render_part(part: JsonDict, dialect: Dialect) -> JsonDict:
    rendered = dict(part)
    if dialect is Dialect.PREVIEW:
        rendered["type"] = _PREVIEW_CONTENT_TYPES.get(part["type"], part["type"])
    return rendered


_USER_PART_TYPES = frozenset({"input_text", "input_audio", "input_image"})
_ASSISTANT_PART_TYPES = frozenset({"output_text", "output_audio"})


def parse_item(raw: Any, decode_audio: Any) -> ConversationItem:
    """A client's ``conversation.item.create`` item; ProtocolError when the service would refuse.

    Accepts both dialects' content types (``text`` and ``output_text`` alike). ``decode_audio``
    turns an ``input_audio`` part's base64 into samples.
    """
    obj = _require_object(raw, "item")
    kind = obj.get("type")
    item_id = obj.get("id") or new_id("item")
    if not isinstance(item_id, str) or len(item_id) > 32:
        raise ProtocolError(
            f"Invalid 'item.id': string too long. Expected a string with maximum length 32, "
            f"but got a string with length {len(str(item_id))} instead.",
            code="string_above_max_length",
            param="item.id",
        )
    if kind == "message":
        role = obj.get("role")
        if role not in ("user", "assistant", "system"):
            raise invalid_value("item.role", role, ("user", "assistant", "system"))
        content_raw = obj.get("content")
        if not isinstance(content_raw, list):
            raise ProtocolError(
                "Missing required parameter: 'item.content'.",
                code="missing_required_parameter",
                param="item.content",
            )
        allowed = _ASSISTANT_PART_TYPES if role == "assistant" else _USER_PART_TYPES
        if role == "system":
            allowed = frozenset({"input_text"})
        content: list[JsonDict] = []
        audio: np.ndarray | None = None
        for index, part_raw in enumerate(content_raw):
            part = dict(_require_object(part_raw, f"item.content[{index}]"))
            part_type = _CANONICAL_CONTENT_TYPES.get(part.get("type", ""), part.get("type"))
            if part_type not in allowed:
                raise invalid_value(f"item.content[{index}].type", part.get("type"), tuple(allowed))
            part["type"] = part_type
            if part_type == "input_audio" and part.get("audio"):
                audio = decode_audio(part.pop("audio"), f"item.content[{index}].audio")
                part.setdefault("transcript", None)
            content.append(part)
        return ConversationItem(
            id=item_id, type="message", role=role, status="completed", content=content, audio=audio
        )
    if kind == "function_call":
        return ConversationItem(
            id=item_id,
            type="function_call",
            call_id=str(obj.get("call_id") or new_id("call")),
            name=str(obj.get("name") or ""),
            arguments=str(obj.get("arguments") or ""),
        )
    if kind == "function_call_output":
        return ConversationItem(
            id=item_id,
            type="function_call_output",
            call_id=str(obj.get("call_id") or ""),
            output=str(obj.get("output") or ""),
        )
    raise invalid_value("item.type", kind, ("message", "function_call", "function_call_output"))


# --------------------------------------------------------------------------- responses


def estimate_usage(
    *,
    input_text: str,
    input_audio_s: float,
    output_text: str,
    output_audio_s: float,
    dialect: Dialect,
) -> JsonDict:
    """Token counts in the service's shape. Estimates: ~4 characters per text token,
    10 audio tokens per second of input and 20 per second of output audio."""
    in_text = max(0, round(len(input_text) / 4))
    in_audio = round(input_audio_s * 10)
    out_text = max(0, round(len(output_text) / 4))
    out_audio = round(output_audio_s * 20)
    input_details: JsonDict = {"text_tokens": in_text, "audio_tokens": in_audio, "cached_tokens": 0}
    if dialect is Dialect.GA:
        input_details["image_tokens"] = 0
        input_details["cached_tokens_details"] = {
            "text_tokens": 0,
            "audio_tokens": 0,
            "image_tokens": 0,
        }
    return {
        "total_tokens": in_text + in_audio + out_text + out_audio,
        "input_tokens": in_text + in_audio,
        "output_tokens": out_text + out_audio,
        "input_token_details": input_details,
        "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
    }


def render_response(
    *,
    response_id: str,
    status: str,
    dialect: Dialect,
    config: SessionConfig,
    modalities: tuple[str, ...],
    voice: str,
    conversation_id: str | None,
    metadata: Mapping[str, str] | None,
    output: list[JsonDict],
    status_details: JsonDict | None = None,
    usage: JsonDict | None = None,
) -> JsonDict:
    response: JsonDict = {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": status_details,
        "output": output,
        "conversation_id": conversation_id,
        "max_output_tokens": config.max_output_tokens,
        "usage": usage,
        "metadata": dict(metadata) if metadata is not None else None,
    }
    if dialect is Dialect.GA:
        response["output_modalities"] = list(modalities)
        response["audio"] = {"output": {"format": dict(PCM_FORMAT_GA), "voice": voice}}
    else:
        response["modalities"] = ["audio", "text"] if "audio" in modalities else ["text"]
        response["voice"] = voice
        response["output_audio_format"] = "pcm16"
        response["temperature"] = config.temperature
    return response


# Error "type" the service uses for well-known codes; anything else is an invalid request.
ERROR_TYPES: dict[str, str] = {
    "insufficient_quota": "insufficient_quota",
    "invalid_api_key": "invalid_request_error",
    "rate_limit_exceeded": "rate_limit_error",
    "session_expired": "invalid_request_error",
    "server_error": "server_error",
}
