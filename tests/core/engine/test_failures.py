"""Real failures, each to its plain-words message and a failed state, then a working reconnect.

Nothing is mocked: a wrong key is sent to the local server, DNS looks up a name under the
reserved .invalid TLD, TLS is attempted against a plain-TCP loopback port, and so on.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from azassist.core.credentials import CredentialStore
from azassist.core.engine import Engine, StaticTokenProvider
from azassist.core.events import ConnectionState, Error, ErrorKind, StateChanged, Warning
from azassist.core.secrets import Secret
from azassist.core.settings import AuthMode, Settings, with_value

from .conftest import API_KEY, Harness, harness, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def _failed(h: Harness, timeout: float = 15.0) -> Error:
    await until(lambda: h.engine.connection is ConnectionState.FAILED, timeout, "the failed state")
    fatal = [e for e in h.errors() if e.fatal]
    assert len(fatal) == 1, h.errors()
    return fatal[0]


async def _recover(h: Harness, settings: Settings | None = None) -> None:
    """After a failure, one reconnect with good settings gives a working conversation."""
    if settings is not None:
        await h.engine.apply_settings(settings)
    h.engine.keys.key = Secret(API_KEY)
    await h.engine.reconnect()
    await h.connected()
    h.server.scripted.queue_reply("Back again.")
    h.engine.send_text("are you there?")
    reply = (await h.replies(1))[-1]
    assert reply.text == "Back again."


def _set(h: Harness, group: str, name: str, value: Any) -> Settings:
    return with_value(h.engine.settings, group, name, value)


async def test_rejected_key() -> None:
    async with harness(connect=False) as h:
        h.engine.keys.key = Secret("wrong-key-123456")
        await h.engine.connect()
        error = await _failed(h)
        assert error.kind is ErrorKind.AUTH
        assert "rejected your API key" in error.message and "HTTP 401" in error.message
        assert "401" in error.detail  # the technical cause, for the log
        assert "wrong-key-123456" not in error.message + error.detail
        states = [e.connection for e in h.of(StateChanged)]
        assert states[-2:] == [ConnectionState.CONNECTING, ConnectionState.FAILED]
        await _recover(h)


async def test_no_such_deployment() -> None:
    async with harness(connect=False, connection={"deployment": "no-such-model"}) as h:
        await h.engine.connect()
        error = await _failed(h)
        assert error.kind is ErrorKind.NOT_FOUND
        assert "no realtime deployment 'no-such-model'" in error.message
        await _recover(h, _set(h, "connection", "deployment", "gpt-realtime"))


async def test_unknown_host() -> None:
    async with harness(connect=False) as h:
        good = h.engine.settings
        await h.engine.apply_settings(_set(h, "connection", "endpoint", "https://azassist-test.invalid"))
        await h.engine.connect()
        error = await _failed(h)
        assert error.kind is ErrorKind.DNS
        assert "azassist-test.invalid was not found" in error.message
        assert "DNS" in error.detail or "Name" in error.detail
        await _recover(h, good)


async def test_refused_connection() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with harness(connect=False) as h:
        good = h.engine.settings
        await h.engine.apply_settings(_set(h, "connection", "endpoint", f"http://127.0.0.1:{port}"))
        await h.engine.connect()
        error = await _failed(h, timeout=30)  # LiveKit retries a refused socket first
        assert error.kind is ErrorKind.UNREACHABLE
        assert "refused the connection" in error.message
        assert any(isinstance(e, Warning) for e in h.events)  # the retries were shown
        await _recover(h, good)


@pytest_asyncio.fixture
async def plain_tcp_port() -> AsyncIterator[int]:
    """A loopback port that accepts TCP and answers like a plain HTTP server, not TLS."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with_timeout = asyncio.wait_for(reader.read(1024), 5)
        try:
            await with_timeout
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_tls_failure(plain_tcp_port: int) -> None:
    async with harness(connect=False) as h:
        good = h.engine.settings
        await h.engine.apply_settings(_set(h, "connection", "endpoint", f"https://127.0.0.1:{plain_tcp_port}"))
        await h.engine.connect()
        error = await _failed(h)
        assert error.kind is ErrorKind.TLS
        assert "secure (TLS) connection" in error.message
        await _recover(h, good)


async def test_quota_error_from_the_service_is_fatal() -> None:
    async with harness() as h:
        h.server.scripted.queue_error("insufficient_quota", "You exceeded your current quota.", type="insufficient_quota")
        h.engine.send_text("hello")
        error = await _failed(h)
        assert error.kind is ErrorKind.QUOTA
        assert "You exceeded your current quota" in error.message
        await _recover(h)


async def test_rate_limited_handshake_is_retried_then_connects() -> None:
    async with harness(connect=False) as h:
        h.server.faults.reject_next_connections(1, status=429, code="429", message="Too many requests")
        await h.engine.connect()
        await h.connected(timeout=15)
        warnings = [w.message for w in h.of(Warning)]
        assert any("HTTP 429" in w for w in warnings), warnings
        assert not [e for e in h.errors() if e.fatal]


async def test_key_revoked_mid_conversation() -> None:
    async with harness() as h:
        await h.server.faults.send_error("invalid_api_key", "Incorrect API key provided.", type="invalid_request_error")
        error = await _failed(h)
        assert error.kind is ErrorKind.AUTH
        assert "Incorrect API key provided" in error.message
        await _recover(h)


async def test_unknown_voice_is_the_services_own_words() -> None:
    async with harness(voice={"voice": "robot"}) as h:
        error = (await until(lambda: h.errors(), 10, "an error"))[0]
        assert error.kind is ErrorKind.SERVER and not error.fatal
        assert "robot" in error.message
        assert h.engine.connection is ConnectionState.CONNECTED
        # The conversation carries on (in the service's default voice).
        h.server.scripted.queue_reply("Still here.")
        h.engine.send_text("hello?")
        assert (await h.replies(1))[0].text == "Still here."


async def test_plain_http_is_refused_for_remote_hosts_before_anything_is_sent() -> None:
    async with harness(connect=False) as h:
        insecure = h.engine.settings.model_copy(
            update={"connection": h.engine.settings.connection.model_copy(update={"endpoint": "http://example.com"})}
        )
        await h.engine.apply_settings(insecure)
        await h.engine.connect()
        error = await _failed(h)
        assert error.kind is ErrorKind.CONFIG
        assert "https://" in error.message and "unencrypted" in error.message
        assert len(h.server.received) == 0


async def test_entra_token_path_end_to_end() -> None:
    async with harness(connect=False, connection={"auth_mode": "entra_id"}) as h:
        h.engine.token_provider = StaticTokenProvider(Secret("not-the-token-000"))
        await h.engine.connect()
        error = await _failed(h)
        assert error.kind is ErrorKind.AUTH and "rejected your sign-in token" in error.message

        h.engine.token_provider = StaticTokenProvider(Secret(API_KEY))  # the simulator's token
        await h.engine.reconnect()
        await h.connected()
        assert h.engine.settings.connection.auth_mode is AuthMode.ENTRA_ID


async def test_entra_without_a_token_source_says_so() -> None:
    async with harness(connect=False, connection={"auth_mode": "entra_id"}) as h:
        await h.engine.connect()
        error = await _failed(h)
        assert error.kind is ErrorKind.AUTH and "Entra ID" in error.message
        assert len(h.server.received) == 0


async def test_key_from_the_real_keyring(secret_service: Any) -> None:
    async with harness(connect=False) as h:
        store = CredentialStore()
        store.set_api_key("127.0.0.1", Secret(API_KEY))
        engine = Engine(h.engine.settings, keys=store)
        events: list[Any] = []
        engine.subscribe(events.append)
        try:
            await engine.connect()
            await until(lambda: engine.connection is ConnectionState.CONNECTED, 10, "connected with the keyring key")
        finally:
            await engine.aclose()


async def test_no_saved_key() -> None:
    async with harness(connect=False) as h:
        h.engine.keys.key = None
        await h.engine.connect()
        error = await _failed(h)
        assert error.kind is ErrorKind.CONFIG and "No API key is saved for 127.0.0.1" in error.message
