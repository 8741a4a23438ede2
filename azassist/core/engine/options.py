"""From our Settings to the LiveKit plugin's arguments: pure functions, no I/O.

Kept apart from the engine so what reaches the wire for each setting is readable in one
place and testable without a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from openai.types.realtime import AudioTranscription
from openai.types.realtime.realtime_audio_input_turn_detection import SemanticVad, ServerVad

from azassist import __version__
from azassist.core.settings import TTS_VOICES, Modalities, Settings, TurnDetectionSettings, TurnMode

# Azure's TTS REST API needs an api-version; used when the user set none (GA realtime).
DEFAULT_TTS_API_VERSION = "2025-03-01-preview"
TEMPERATURE_UNSUPPORTED = (
    "Temperature is not supported by this API version: the current (GA) realtime protocol "
    "has no temperature. Set a legacy preview API version to use it."
)
PREVIEW_TEMPERATURE = "Temperature is sent with the legacy preview protocol."


def turn_detection_for(
    settings: TurnDetectionSettings, *, hands_free: bool
) -> ServerVad | SemanticVad | None:
    """The server's turn detection; ``None`` means push-to-talk (the client commits turns)."""
    if not hands_free:
        return None
    if settings.mode is TurnMode.SEMANTIC_VAD:
        return SemanticVad(
            type="semantic_vad",
            eagerness=settings.eagerness.value,
            create_response=settings.create_response,
            interrupt_response=settings.interrupt_response,
        )
    return ServerVad(
        type="server_vad",
        threshold=settings.threshold,
        prefix_padding_ms=settings.prefix_padding_ms,
        silence_duration_ms=settings.silence_duration_ms,
        create_response=settings.create_response,
        interrupt_response=settings.interrupt_response,
    )


def transcription_for(deployment: str) -> AudioTranscription | None:
    """On Azure the transcription model is a deployment name; empty turns transcripts off."""
    return AudioTranscription(model=deployment) if deployment else None


def realtime_modalities(modalities: Modalities) -> list[Literal["text", "audio"]]:
    return ["text", "audio"] if modalities is Modalities.AUDIO else ["text"]


@dataclass(frozen=True)
class Credentials:
    """What authenticates one connection: an API key or an Entra ID bearer token."""

    api_key: str | None = None
    entra_token: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(api_key={'***' if self.api_key else None}, entra_token={'***' if self.entra_token else None})"


def realtime_model_kwargs(
    settings: Settings,
    credentials: Credentials,
    *,
    hands_free: bool,
    max_session_duration: float | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``RealtimeModel.with_azure``.

    ``api_version`` is passed only when the user set one: that alone selects the legacy
    preview protocol. Instructions are not here: they belong on the ``Agent``.
    """
    connection = settings.connection
    kwargs: dict[str, Any] = {
        "azure_deployment": connection.deployment,
        "azure_endpoint": connection.endpoint,
        "api_key": credentials.api_key,
        "entra_token": credentials.entra_token,
        "voice": settings.voice.voice,
        "speed": settings.voice.speed,
        "modalities": realtime_modalities(settings.model.modalities),
        "input_audio_transcription": transcription_for(connection.transcription_deployment),
        "turn_detection": turn_detection_for(settings.turn_detection, hands_free=hands_free),
    }
    if connection.api_version:
        kwargs["api_version"] = connection.api_version
    if max_session_duration is not None:
        kwargs["max_session_duration"] = max_session_duration
    return kwargs


def tts_kwargs(settings: Settings, credentials: Credentials, token_provider: Any = None) -> dict[str, Any]:
    """Keyword arguments for ``openai.TTS.with_azure``: the text + separate voice mode, and
    in voice mode the fallback that speaks a reply the service sent as text (then in the
    realtime voice where the TTS deployment has it, so the assistant sounds the same).

    In Entra mode with ``token_provider`` (an async callable giving a token, e.g.
    ``azassist.core.entra.realtime.tts_token_provider``) the openai client asks it before
    every request, so a long conversation's speech keeps working past the token's expiry."""
    connection = settings.connection
    voice = settings.model.tts_voice
    if settings.model.modalities is Modalities.AUDIO and settings.voice.voice in TTS_VOICES:
        voice = settings.voice.voice
    kwargs: dict[str, Any] = {
        "model": connection.tts_deployment,
        "voice": voice,
        "speed": settings.voice.speed,
        "azure_endpoint": connection.endpoint,
        "azure_deployment": connection.tts_deployment,
        "api_version": connection.api_version or DEFAULT_TTS_API_VERSION,
        "response_format": "pcm",
    }
    if credentials.entra_token and token_provider is not None:
        kwargs["azure_ad_token_provider"] = token_provider
    elif credentials.entra_token:
        kwargs["azure_ad_token"] = credentials.entra_token
    else:
        kwargs["api_key"] = credentials.api_key
    return kwargs


def conversation_header(settings: Settings) -> dict[str, Any]:
    """The settings that shaped a conversation, for its file header. Never a secret."""
    connection = settings.connection
    header: dict[str, Any] = {
        "app_version": __version__,
        "endpoint_host": connection.host,
        "deployment": connection.deployment,
        "protocol": f"preview {connection.api_version}" if connection.api_version else "GA",
        "auth_mode": connection.auth_mode.value,
        "modalities": settings.model.modalities.value,
        "voice": settings.voice.voice,
        "speed": settings.voice.speed,
        "instructions": settings.model.instructions,
        "turn_detection": settings.turn_detection.model_dump(mode="json"),
        "transcription_deployment": connection.transcription_deployment,
    }
    if settings.model.modalities is Modalities.TEXT_AND_TTS:
        header["tts_deployment"] = connection.tts_deployment
        header["tts_voice"] = settings.model.tts_voice
    if connection.api_version:
        header["temperature"] = settings.model.temperature
    return header
