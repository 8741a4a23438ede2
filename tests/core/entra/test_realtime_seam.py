"""Every realtime (re)connect takes a fresh token, and never an api-key header, on the wire.

Real parts only: the local authority issues short-lived tokens through the real
azure-identity, the local realtime server verifies each bearer token at the handshake, and
LiveKit's own session recycle (``max_session_duration``) reconnects several times during
one conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from typing import Any

import pytest
from livekit.agents import Agent, AgentSession, APIConnectionError, llm
from livekit.agents import __version__ as livekit_version
from livekit.plugins import openai as lk_openai

from azassist.core.auth import StaticTokenProvider, TokenError
from azassist.core.engine.options import Credentials, realtime_model_kwargs, tts_kwargs
from azassist.core.entra import EntraTokenProvider
from azassist.core.entra.realtime import PINNED_LIVEKIT, EntraRealtimeModel, build_realtime_model, tts_token_provider
from azassist.core.secrets import Secret
from azassist.core.settings import AuthMode, Settings, SignInMethod
from azassist.simulator import LocalRealtimeServer
from tests.support.waiting import until

from .conftest import MakeProvider
from .fake_authority import FakeAuthority

pytestmark = [pytest.mark.timeout(90)]
DEPLOYMENT = "gpt-realtime"


def test_the_seam_is_where_it_was() -> None:
    """Fails when LiveKit changes what ``azassist.core.entra.realtime`` overrides."""
    assert livekit_version == PINNED_LIVEKIT, "re-check azassist/core/entra/realtime.py against the new LiveKit"
    session_cls = lk_openai.realtime.RealtimeSession
    assert inspect.iscoroutinefunction(session_cls._create_ws_conn)
    source = inspect.getsource(session_cls._create_ws_url_and_headers)
    assert 'f"Bearer {self._opts.entra_token}"' in source
    assert 'headers["api-key"] = self._opts.api_key' in source
    main = inspect.getsource(session_cls._main_task)
    assert "await self._create_ws_conn()" in main  # every connect, retry and recycle goes through it
    assert "sess = RealtimeSession(self" in inspect.getsource(lk_openai.realtime.RealtimeModel.session)


def _settings(server: LocalRealtimeServer) -> Settings:
    return Settings.model_validate(
        {
            "connection": {"endpoint": server.endpoint, "deployment": DEPLOYMENT, "auth_mode": AuthMode.ENTRA_ID.value},
            "model": {"modalities": "text"},
        }
    )


async def _conversation(
    server: LocalRealtimeServer, provider: Any, *, max_session_duration: float
) -> tuple[AgentSession, Any, list[str]]:
    first = await provider.get_token()
    kwargs = realtime_model_kwargs(
        _settings(server), Credentials(entra_token=first.reveal()), hands_free=False, max_session_duration=max_session_duration
    )
    model = build_realtime_model(kwargs, http_session=None, token_provider=provider)
    session: AgentSession = AgentSession(
        llm=model, vad=None, turn_handling={"turn_detection": "manual"}, aec_warmup_duration=None, user_away_timeout=None
    )
    replies: list[str] = []

    def added(event: Any) -> None:
        item = event.item
        if isinstance(item, llm.ChatMessage) and item.role == "assistant" and item.text_content:
            replies.append(item.text_content)

    session.on("conversation_item_added", added)
    await session.start(Agent(instructions="Be brief."), record=False)
    session.output.audio = None
    return session, model, replies


@pytest.mark.asyncio
async def test_a_conversation_across_token_expiries_and_session_recycles(
    authority: FakeAuthority, make_provider: MakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "an-api-key-from-the-environment")  # LiveKit would send it
    monkeypatch.setenv("OPENAI_API_KEY", "another-key-from-the-environment")
    authority.lifetime_s = 3  # tokens live 3 s; the provider renews inside its 5-minute margin
    provider = make_provider(SignInMethod.DEVICE_CODE)
    await provider.sign_in()
    errors: list[Any] = []
    async with LocalRealtimeServer(api_key="unused-key", deployments=(DEPLOYMENT,), responder="scripted", pace=0) as server:
        server.bearer_check = authority.verify
        session, model, replies = await _conversation(server, provider, max_session_duration=1.5)
        session.on("error", errors.append)
        try:
            started = time.time()
            turns = 0
            # keep talking until LiveKit recycled its session 3 times and the first tokens are long expired
            while len(server.handshakes) < 4 or time.time() < started + 2 * authority.lifetime_s:
                turns += 1
                server.scripted.queue_reply(f"Reply {turns}.")
                await session.generate_reply(user_input=f"Turn {turns}")
                wanted, seen = turns, len(server.handshakes)
                await until(lambda: len(replies) >= wanted, 20, f"reply {turns}")  # noqa: B023
                await until(lambda: len(server.handshakes) > seen, 20, "LiveKit to recycle its session")  # noqa: B023
        finally:
            await session.aclose()
            await model.aclose()
    assert replies == [f"Reply {n}." for n in range(1, turns + 1)]  # no lost turn
    assert [h.status for h in server.handshakes] == [200] * len(server.handshakes)
    assert not any(h.api_key_sent for h in server.handshakes), "an api-key header went out in Entra mode"
    assert all(h.bearer_sent for h in server.handshakes)
    assert len(authority.counters.issued) >= len(server.handshakes)  # a fresh token for each handshake
    assert not [e for e in errors if not getattr(e.error, "recoverable", True)]


@pytest.mark.asyncio
async def test_a_static_token_that_expired_is_refused_at_the_next_recycle(authority: FakeAuthority, make_provider: MakeProvider) -> None:
    """Why the seam exists: without renewal, LiveKit's recycle reuses the first token and fails."""
    authority.lifetime_s = 2
    provider = make_provider(SignInMethod.DEVICE_CODE)
    await provider.sign_in()
    frozen = StaticTokenProvider(await provider.get_token())
    async with LocalRealtimeServer(api_key="unused-key", deployments=(DEPLOYMENT,), responder="scripted", pace=0) as server:
        server.bearer_check = authority.verify
        session, model, _replies = await _conversation(server, frozen, max_session_duration=1.0)
        try:
            await until(lambda: any(h.status == 401 for h in server.handshakes), 30, "the expired token to be refused")
        finally:
            await session.aclose()
            await model.aclose()
    assert server.handshakes[0].status == 200


@pytest.mark.asyncio
async def test_a_token_that_cannot_be_renewed_stops_the_session_without_retrying(
    authority: FakeAuthority, make_provider: MakeProvider
) -> None:
    authority.lifetime_s = 2
    provider = make_provider(SignInMethod.DEVICE_CODE)
    await provider.sign_in()
    errors: list[Any] = []
    async with LocalRealtimeServer(api_key="unused-key", deployments=(DEPLOYMENT,), responder="scripted", pace=0) as server:
        server.bearer_check = authority.verify
        session, model, _replies = await _conversation(server, provider, max_session_duration=1.0)
        session.on("error", errors.append)
        await until(lambda: len(server.handshakes) == 1, 20, "the first handshake")
        authority.refresh_error = ("invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.")
        try:
            await until(lambda: any(not e.error.recoverable for e in errors), 30, "a fatal error")
        finally:
            with contextlib.suppress(APIConnectionError):  # LiveKit re-raises the session's end
                await session.aclose()
            await model.aclose()
    fatal = next(e for e in errors if not e.error.recoverable)
    assert isinstance(fatal.error.error.__cause__, TokenError)
    assert "could not be renewed" in str(fatal.error.error)
    assert len(server.handshakes) == 1  # no handshake with a stale token


@pytest.mark.asyncio
async def test_the_tts_deployment_gets_the_same_provider(authority: FakeAuthority, make_provider: MakeProvider) -> None:
    provider = make_provider(SignInMethod.DEVICE_CODE)
    await provider.sign_in()
    settings = Settings.model_validate(
        {"connection": {"endpoint": "https://x.openai.azure.com", "deployment": "d", "tts_deployment": "tts"}}
    )
    kwargs = tts_kwargs(settings, Credentials(entra_token="first"), tts_token_provider(provider))
    assert "azure_ad_token" not in kwargs and "api_key" not in kwargs
    token = await kwargs["azure_ad_token_provider"]()
    assert authority.verify(token) == 200
    assert isinstance(lk_openai.TTS.with_azure(**kwargs), lk_openai.TTS)


@pytest.mark.asyncio
async def test_api_key_mode_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    async with LocalRealtimeServer(api_key="the-api-key", deployments=(DEPLOYMENT,), responder="scripted", pace=0) as server:
        settings = _settings(server).model_copy(update={"connection": _settings(server).connection.model_copy(update={"auth_mode": AuthMode.API_KEY})})
        kwargs = realtime_model_kwargs(settings, Credentials(api_key="the-api-key"), hands_free=False)
        model = build_realtime_model(kwargs, http_session=None, token_provider=StaticTokenProvider(Secret("unused-token")))
        assert not isinstance(model, EntraRealtimeModel)
        await model.aclose()


def test_entra_provider_is_a_token_provider() -> None:
    assert inspect.iscoroutinefunction(EntraTokenProvider.get_token)
    assert asyncio.iscoroutinefunction(StaticTokenProvider.get_token)
