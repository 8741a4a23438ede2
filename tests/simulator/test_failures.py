"""Auth, unreachable servers and injected faults, as the LiveKit client experiences them."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import pytest

from .conftest import API_KEY, StartSimulator
from .support import make_model, start_conversation, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


def handshake_status(error: BaseException) -> int | None:
    """The HTTP status behind a LiveKit connection error (LiveKit keeps it in the cause chain)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, aiohttp.WSServerHandshakeError):
            return seen.status
        seen = seen.__cause__ or seen.__context__
    return None


def has_cause(error: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- HTTP before upgrade


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"api-key": API_KEY}, 101, None),
        ({"Authorization": f"Bearer {API_KEY}"}, 101, None),
        ({"api-key": "wrong"}, 401, "401"),
        ({}, 401, "401"),
        ({"Authorization": "Bearer wrong"}, 401, "401"),
    ],
    ids=["api-key", "bearer", "wrong-key", "no-key", "wrong-bearer"],
)
async def test_auth_is_checked_before_the_upgrade(
    start_simulator: StartSimulator, headers: dict[str, str], status: int, code: str | None
) -> None:
    server = await start_simulator()
    url = f"{server.endpoint.replace('http', 'ws')}/openai/v1/realtime?model=gpt-realtime"
    async with aiohttp.ClientSession() as http:
        if status == 101:
            async with http.ws_connect(url, headers=headers) as ws:
                first = await ws.receive_json(timeout=5)
                assert first["type"] == "session.created"
            return
        async with http.get(url, headers=headers) as response:
            assert response.status == status
            body = await response.json()
            assert body["error"]["code"] == code
            assert "subscription key" in body["error"]["message"]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/openai/v1/realtime?model=nope", "DeploymentNotFound"),
        ("/openai/realtime?api-version=2025-04-01-preview&deployment=nope", "DeploymentNotFound"),
        ("/openai/realtime?deployment=gpt-realtime", "404"),  # preview needs an api-version
        ("/openai/v2/whatever", "404"),
    ],
)
async def test_unknown_deployments_and_paths_get_404(
    start_simulator: StartSimulator, path: str, code: str
) -> None:
    server = await start_simulator()
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.endpoint + path, headers={"api-key": API_KEY}) as response,
    ):
        assert response.status == 404
        assert (await response.json())["error"]["code"] == code


# --------------------------------------------------------------------------- through LiveKit


async def test_wrong_key_is_fatal_for_the_default_client(start_simulator: StartSimulator) -> None:
    """with_azure as the app builds it: retries (about 4 s), then one unrecoverable error."""
    server = await start_simulator()
    conversation = await start_conversation(make_model(server, api_key="wrong"))
    try:
        await until(lambda: conversation.fatal_errors, timeout=20, what="fatal error")
        assert handshake_status(conversation.fatal_errors[0]) == 401
        assert not server.sessions
    finally:
        await conversation.aclose()


@pytest.mark.parametrize(
    ("options", "status"),
    [({"api_key": "wrong"}, 401), ({"deployment": "missing"}, 404)],
    ids=["401", "404"],
)
async def test_handshake_refusals_reach_the_client(
    start_simulator: StartSimulator, options: dict[str, Any], status: int
) -> None:
    server = await start_simulator()
    conversation = await start_conversation(make_model(server, fast_retries=True, **options))
    try:
        await until(lambda: conversation.fatal_errors, what="fatal error")
        assert handshake_status(conversation.fatal_errors[0]) == status
    finally:
        await conversation.aclose()


async def test_refused_port_is_fatal_after_retries() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    conversation = await start_conversation(make_model(None, endpoint=endpoint, fast_retries=True))
    try:
        await until(lambda: conversation.fatal_errors, what="fatal error")
        assert has_cause(conversation.fatal_errors[0], aiohttp.ClientConnectorError)
    finally:
        await conversation.aclose()


async def test_http_rejection_is_retried(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    server.faults.reject_next_connections(1, status=503)
    server.scripted.queue_reply("Back again.")
    conversation = await start_conversation(make_model(server, fast_retries=True))
    try:
        await until(lambda: server.sessions, what="connection after the 503")
        conversation.session.generate_reply(user_input="hello")
        assert await conversation.wait_for_reply() == "Back again."
        assert [handshake_status(e) for e in conversation.recoverable_errors] == [503]
        assert not conversation.fatal_errors
    finally:
        await conversation.aclose()


async def test_socket_dropped_mid_reply_reconnects_and_replays(
    start_simulator: StartSimulator,
) -> None:
    server = await start_simulator(pace=1.0)
    server.faults.drop_mid_reply(after_audio_deltas=2)
    server.scripted.queue_reply("This reply is cut off by the network after a moment.")
    server.scripted.queue_reply("Second try works.")
    conversation = await start_conversation(make_model(server))
    try:
        conversation.session.generate_reply(user_input="first question")
        await until(lambda: len(server.sessions) == 2, what="reconnection")
        assert conversation.recoverable_errors and not conversation.fatal_errors
        assert len(server.sent.of_type("response.output_audio.delta", server.sessions[0].id)) == 2
        assert not server.sent.of_type("response.done", server.sessions[0].id)

        # The client replays the conversation into the new session.
        second = server.sessions[1]
        await until(lambda: any(i.text == "first question" for i in second.items), what="replay")

        conversation.session.generate_reply(user_input="second question")
        await until(lambda: "Second try works." in conversation.said("assistant"), what="reply")
    finally:
        await conversation.aclose()


async def test_recoverable_error_event_is_reported_and_the_session_goes_on(
    start_simulator: StartSimulator,
) -> None:
    server = await start_simulator()
    server.scripted.queue_reply("Still here.")
    conversation = await start_conversation(make_model(server))
    try:
        await server.wait_for_session()
        await server.faults.send_error("rate_limit_exceeded")
        await until(lambda: conversation.errors, what="error event")
        assert conversation.recoverable_errors and not conversation.fatal_errors
        conversation.session.generate_reply(user_input="are you there?")
        assert await conversation.wait_for_reply() == "Still here."
    finally:
        await conversation.aclose()


@pytest.mark.parametrize("code", ["invalid_api_key", "insufficient_quota"])
async def test_fatal_error_codes_end_the_session(
    start_simulator: StartSimulator, code: str
) -> None:
    server = await start_simulator()
    conversation = await start_conversation(make_model(server))
    try:
        session = await server.wait_for_session()
        await server.faults.send_error(code)
        await until(lambda: conversation.fatal_errors, what="fatal error")
        assert conversation.fatal_errors[0].body.code == code
        await until(lambda: session.closed, what="client hung up")
        assert len(server.sessions) == 1  # no reconnect loop
    finally:
        await conversation.aclose()


async def test_quota_error_in_reply_to_response_create(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    server.scripted.queue_error("insufficient_quota")
    conversation = await start_conversation(make_model(server))
    try:
        conversation.session.generate_reply(user_input="hello")
        await until(lambda: conversation.fatal_errors, what="fatal error")
        error = server.sent.of_type("error")[0]["error"]
        assert error["code"] == "insufficient_quota"
        assert error["event_id"] == server.received.of_type("response.create")[0]["event_id"]
        assert not server.sent.of_type("response.created")
    finally:
        await conversation.aclose()


async def test_malformed_json_kills_the_client_session(start_simulator: StartSimulator) -> None:
    """Not a simulator choice: the plugin cannot parse a non-JSON frame and gives up."""
    server = await start_simulator()
    conversation = await start_conversation(make_model(server))
    try:
        await server.wait_for_session()
        await server.faults.send_malformed_json()
        await until(lambda: conversation.fatal_errors, what="fatal error")
        assert server.sent.of_type("<malformed>")[0].fault
    finally:
        await conversation.aclose()


async def test_unknown_event_types_are_ignored(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    server.scripted.queue_reply("Nothing happened.")
    conversation = await start_conversation(make_model(server))
    try:
        await server.wait_for_session()
        await server.faults.send_unknown_event("simulator.future_event")
        conversation.session.generate_reply(user_input="anything?")
        assert await conversation.wait_for_reply() == "Nothing happened."
        assert not conversation.errors
    finally:
        await conversation.aclose()


async def test_slow_response_still_completes(start_simulator: StartSimulator) -> None:
    server = await start_simulator()
    server.faults.slow_responses(0.4)
    server.scripted.queue_reply("Sorry for the wait.")
    conversation = await start_conversation(make_model(server))
    try:
        conversation.session.generate_reply(user_input="hurry up")
        assert await conversation.wait_for_reply() == "Sorry for the wait."
        created = server.sent.of_type("response.created")[0]
        first_delta = server.sent.of_type("response.output_audio.delta")[0]
        assert first_delta.t - created.t >= 0.4
    finally:
        await conversation.aclose()


async def test_stalled_response_is_cancelled_by_an_interrupt(
    start_simulator: StartSimulator,
) -> None:
    server = await start_simulator()
    server.faults.stall_next_response()
    server.scripted.queue_reply("never said")
    server.scripted.queue_reply("After the stall.")
    conversation = await start_conversation(make_model(server))
    try:
        conversation.session.generate_reply(user_input="are you stuck?")
        await server.sent.wait_for(lambda e: e.type == "response.created")
        await conversation.session.interrupt()
        done = await server.sent.wait_for(lambda e: e.type == "response.done")
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "client_cancelled"
        conversation.session.generate_reply(user_input="and now?")
        await until(lambda: "After the stall." in conversation.said("assistant"), what="reply")
    finally:
        await conversation.aclose()


async def test_session_expiry_reconnects_with_the_conversation(
    start_simulator: StartSimulator,
) -> None:
    server = await start_simulator()
    server.scripted.queue_reply("Before expiry.")
    server.scripted.queue_reply("After expiry.")
    server.faults.expire_sessions_after(1.0)
    conversation = await start_conversation(make_model(server))
    try:
        await server.wait_for_session()
        server.faults.expire_sessions_after(None)  # only the first session expires
        conversation.session.generate_reply(user_input="remember me")
        assert await conversation.wait_for_reply() == "Before expiry."
        await until(lambda: len(server.sessions) == 2, what="reconnection after expiry")
        expired = server.sent.of_type("error", server.sessions[0].id)[0]["error"]
        assert expired["code"] == "session_expired"
        assert conversation.recoverable_errors
        second = server.sessions[1]
        await until(lambda: any(i.text == "remember me" for i in second.items), what="replay")
        conversation.session.generate_reply(user_input="still there?")
        await until(lambda: "After expiry." in conversation.said("assistant"), what="reply")
    finally:
        await conversation.aclose()
