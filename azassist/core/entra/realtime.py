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

from azassist.core.auth import TokenError, TokenProvider
from azassist.core.engine.realtime_model import RealtimeModel, ShortAppendSession

PINNED_LIVEKIT = "1.8.9"


class _EntraRealtimeSession(ShortAppendSession):
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


class EntraRealtimeModel(RealtimeModel):
    """``RealtimeModel`` whose sessions ask ``token_provider`` for a token at every handshake."""

    _azassist_tokens: TokenProvider
    session_class = _EntraRealtimeSession


def build_realtime_model(kwargs: dict[str, Any], *, http_session: Any, token_provider: TokenProvider | None) -> Any:
    """``RealtimeModel.with_azure(**kwargs)``; in Entra mode (an ``entra_token`` and a provider)
    the model renews its token at every (re)connect and never sends an ``api-key`` header."""
    if token_provider is None or not kwargs.get("entra_token"):
        return RealtimeModel.with_azure(**kwargs, http_session=http_session)
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
