"""A local Azure OpenAI realtime server: the offline demo, the audio check, tests and benchmarks.

It speaks the Azure realtime wire protocol over a real WebSocket on 127.0.0.1 well enough that
the unmodified ``livekit-plugins-openai`` client (``RealtimeModel.with_azure``) holds whole
conversations with it, on both protocol generations.

    from azassist.simulator import LocalRealtimeServer
    async with LocalRealtimeServer(api_key="k", responder="echo", pace=0) as server:
        model = RealtimeModel.with_azure(azure_deployment="gpt-realtime",
                                         azure_endpoint=server.endpoint, api_key="k")

Standalone: ``python -m azassist.simulator --port 8765 --responder demo`` (key from
``AZASSIST_SIMULATOR_API_KEY``).

Simulated
  * GA ``/openai/v1/realtime?model=<deployment>`` (GA event names, nested session) and the
    deprecated preview ``/openai/realtime?api-version=..&deployment=..`` (preview names, flat
    session with ``temperature`` 0.6..1.2).
  * Auth like Azure: ``api-key`` header or ``Authorization: Bearer <key>``; HTTP 401 before
    the upgrade with an Azure-shaped JSON body; unknown deployment 404 ``DeploymentNotFound``.
  * ``session.created``; ``session.update`` -> ``session.updated`` with the applied config, or
    an ``error`` (all-or-nothing) for: unknown parameters (``temperature`` on GA), unknown
    voice, voice change after assistant audio, temperature/speed/VAD numbers out of range,
    formats other than 24 kHz PCM16, invalid modality combinations.
  * Input audio: append / commit / clear; server VAD on the real signal (energy, see
    ``vad.py`` for the threshold -> dBFS mapping) with the session's threshold, prefix padding
    and silence duration; ``create_response`` and ``interrupt_response`` honoured; manual turns
    when turn_detection is null (commit under 100 ms -> ``input_audio_buffer_commit_empty``).
  * ``semantic_vad`` is accepted and behaves like server VAD (threshold 0.5, 300 ms padding,
    silence from eagerness: low 800 ms, medium/auto 500 ms, high 250 ms).
  * Items: create (client ids echoed, ``previous_item_id`` incl. "root"), delete, truncate
    (drops the transcript like the service), retrieve.
  * Replies: response.create (``metadata`` echoed, ``instructions``, ``output_modalities`` /
    ``modalities``, ``conversation: "none"``, ``input``), response.cancel, the full event order
    of a reply, ``usage`` in ``response.done`` (estimated), ``rate_limits.updated``; one active
    response at a time (``conversation_already_has_active_response``); text-only replies.
  * Output audio: 24 kHz mono PCM16 in 100 ms deltas, paced in real time (``pace`` scales it,
    0 = as fast as possible; up to 200 ms ahead, like a service that generates faster than it
    plays); transcript deltas timed to the audio.
  * Input transcription (delta + completed) when the session asks for it. NOT speech
    recognition: the transcript is a deterministic stand-in, "(1.4 s of speech)" by default;
    the scripted responder returns queued transcripts.
  * Responders: ``echo`` (plays the utterance back and says how long it was: the audio
    check), ``scripted`` (tests queue replies, audio, errors, failures, transcripts), ``demo``
    (a small offline persona); or any :class:`Responder`. Speech via espeak-ng (PyPI
    ``espeakng_loader``), tones when it cannot load.
  * Azure TTS ``POST /openai/deployments/{deployment}/audio/speech`` (pcm, wav, mp3, opus,
    aac, flac; raw body or SSE ``speech.audio.delta``).
  * Faults (``server.faults``): drop the socket mid-reply, error events (incl. the fatal
    ``invalid_api_key`` / ``insufficient_quota``), malformed JSON, unknown event types, slow
    and stalled responses, HTTP rejections (429/503), session expiry (``session_expired``
    then close).
  * Wire recording (``server.received`` / ``server.sent``, monotonic timestamps) and strict
    validation of every event against the official openai-python models
    (``server.violations``; on with ``strict_validation=True`` or
    ``AZASSIST_SIMULATOR_STRICT=1``).

Not simulated
  * Any language understanding, real ASR, function calling by the model (tools are stored and
    reported, never called), MCP, images, G.711 formats, noise reduction (accepted, not
    applied), ``idle_timeout_ms`` (accepted, never fires), ``max_output_tokens`` limits,
    content filters, WebRTC/SIP events, Entra token validation (a bearer token must equal the
    key), token accounting beyond estimates, real rate limits.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Lazy exports: importing the package (``python -m azassist.simulator``, ``speech`` alone)
# must not pay for aiohttp and the openai models until a server is actually wanted.
_EXPORTS: dict[str, str] = {
    "STRICT_ENV": "config",
    "SimulatorConfig": "config",
    "Faults": "faults",
    "Dialect": "protocol",
    "SessionConfig": "protocol",
    "TurnDetection": "protocol",
    "DemoResponder": "responders",
    "EchoResponder": "responders",
    "ErrorSpec": "responders",
    "Reply": "responders",
    "Responder": "responders",
    "ScriptedResponder": "responders",
    "Turn": "responders",
    "UserAudio": "responders",
    "LocalRealtimeServer": "server",
    "LoopbackOnlyError": "net",
    "RealtimeConnection": "session",
    "Violation": "validation",
    "WireEvent": "wire",
    "WireLog": "wire",
}

__all__ = [
    "STRICT_ENV",
    "DemoResponder",
    "Dialect",
    "EchoResponder",
    "ErrorSpec",
    "Faults",
    "LocalRealtimeServer",
    "LoopbackOnlyError",
    "RealtimeConnection",
    "Reply",
    "Responder",
    "ScriptedResponder",
    "SessionConfig",
    "SimulatorConfig",
    "Turn",
    "TurnDetection",
    "UserAudio",
    "Violation",
    "WireEvent",
    "WireLog",
]

if TYPE_CHECKING:
    from .config import STRICT_ENV, SimulatorConfig
    from .faults import Faults
    from .net import LoopbackOnlyError
    from .protocol import Dialect, SessionConfig, TurnDetection
    from .responders import (
        DemoResponder,
        EchoResponder,
        ErrorSpec,
        Reply,
        Responder,
        ScriptedResponder,
        Turn,
        UserAudio,
    )
    from .server import LocalRealtimeServer
    from .session import RealtimeConnection
    from .validation import Violation
    from .wire import WireEvent, WireLog


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
