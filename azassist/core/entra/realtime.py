"""The one seam through which every realtime (re)connect gets a fresh Entra ID token.

LiveKit 1.8.9 keeps ``entra_token`` as a plain string in the model's options; each
``RealtimeSession`` copies the options and builds its headers from that copy at every
WebSocket handshake: the first connect, each retry, and the transparent recycle every
``max_session_duration``. There is no token-provider hook. ``EntraRealtimeModel`` overrides
exactly one private coroutine, ``RealtimeSession._create_ws_conn`` (awaited at the top of
each connect), to ask the ``TokenProvider`` first and put its answer in the session's
options; it also clears ``api_key`` there, which LiveKit fills from ``AZURE_OPENAI_API_KEY``
/ ``OPENAI_API_KEY`` and would send as an ``api-key`` header next to the bearer token.

Pinned to livekit-agents 1.8.9: tests/core/entra/test_realtime_seam.py fails if the names
or the header building this relies on change.

Imports LiveKit: only the engine (which already has) imports this module.
"""

from __future__ import annotations

from typing import Any

from livekit.agents import APIConnectionError
from livekit.plugins import openai as lk_openai

from azassist.core.auth import TokenError, TokenProvider

PINNED_LIVEKIT = "1.8.9"
_RealtimeModel: Any = lk_openai.realtime.RealtimeModel
_RealtimeSession: Any = lk_openai.realtime.RealtimeSession


class _EntraRealtimeSession(_RealtimeSession):
    async def _create_ws_conn(self) -> Any:
        provider: TokenProvider = self._realtime_model._azassist_tokens
        try:
            token = await provider.get_token()
        except TokenError as exc:
            # not retryable: three more tries would only repeat the same answer
            raise APIConnectionError(exc.message, retryable=False) from exc
        self._opts.entra_token = token.reveal()
        self._opts.api_key = None
        return await super()._create_ws_conn()


class EntraRealtimeModel(_RealtimeModel):
    """``RealtimeModel`` whose sessions ask ``token_provider`` for a token at every handshake."""

    _azassist_tokens: TokenProvider

    def session(self, *, turn_detection_disabled: bool = False) -> Any:
        sess = _EntraRealtimeSession(self, turn_detection_disabled=turn_detection_disabled)
        self._sessions.add(sess)
        return sess


def build_realtime_model(kwargs: dict[str, Any], *, http_session: Any, token_provider: TokenProvider | None) -> Any:
    """``RealtimeModel.with_azure(**kwargs)``; in Entra mode (an ``entra_token`` and a provider)
    the model renews its token at every (re)connect and never sends an ``api-key`` header."""
    if token_provider is None or not kwargs.get("entra_token"):
        return _RealtimeModel.with_azure(**kwargs, http_session=http_session)
    model = EntraRealtimeModel.with_azure(**{**kwargs, "api_key": None}, http_session=http_session)
    model._opts.api_key = None  # with_azure fell back to AZURE_OPENAI_API_KEY / OPENAI_API_KEY
    model._azassist_tokens = token_provider
    return model


def tts_token_provider(token_provider: TokenProvider) -> Any:
    """For ``openai.TTS.with_azure(azure_ad_token_provider=...)``: the openai client calls it
    before every request, so the TTS deployment renews its token the same way."""

    async def token() -> str:
        return (await token_provider.get_token()).reveal()

    return token
