"""The cause -> plain words mapping, directly on the exception chains LiveKit produces.

The same mapping is exercised through real failures in test_engine_errors.py.
"""

from __future__ import annotations

import socket
import ssl

import aiohttp
import pytest
from livekit.agents import APIConnectionError, APIError
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from azassist.core.engine.errors import describe_failure, describe_server_error
from azassist.core.events import ErrorKind
from azassist.core.secrets import Secret

HOST = "my-resource.openai.azure.com"


def _connection_key() -> aiohttp.client_reqrep.ConnectionKey:
    return aiohttp.client_reqrep.ConnectionKey(HOST, 443, True, True, None, None, None)


def _handshake(status: int) -> aiohttp.WSServerHandshakeError:
    info = aiohttp.RequestInfo(URL(f"wss://{HOST}/openai/v1/realtime"), "GET", CIMultiDictProxy(CIMultiDict()), URL(f"wss://{HOST}"))
    return aiohttp.WSServerHandshakeError(info, (), status=status, message="Invalid response status")


def _as_livekit_raises(cause: BaseException, *, retries_ran_out: bool = True) -> BaseException:
    """Wrap a transport error the way RealtimeSession does (and again when retries run out)."""
    try:
        try:
            raise APIConnectionError("OpenAI Realtime API client connection error") from cause
        except APIConnectionError as first:
            if not retries_ran_out:
                raise
            raise APIConnectionError("OpenAI Realtime API connection failed after 3 attempts") from first
    except APIConnectionError as final:
        return final


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (401, ErrorKind.AUTH, "rejected your API key"),
        (403, ErrorKind.AUTH, "rejected your API key"),
        (404, ErrorKind.NOT_FOUND, "no realtime deployment 'gpt-realtime'"),
        (429, ErrorKind.QUOTA, "quota"),
        (503, ErrorKind.SERVER, "problem of its own"),
    ],
)
def test_http_status_of_the_handshake(status: int, kind: ErrorKind, words: str) -> None:
    failure = describe_failure(_as_livekit_raises(_handshake(status)), host=HOST, deployment="gpt-realtime")
    assert failure.kind is kind
    assert words in failure.message
    assert str(status) in failure.detail
    assert "OpenAI Realtime API" not in failure.message


def test_token_wording_for_entra() -> None:
    failure = describe_failure(_handshake(401), host=HOST, auth_word="sign-in token")
    assert "rejected your sign-in token" in failure.message


def test_dns_failure() -> None:
    dns = aiohttp.ClientConnectorDNSError(_connection_key(), socket.gaierror(-2, "Name or service not known"))
    failure = describe_failure(_as_livekit_raises(dns), host="nowhere.invalid")
    assert failure.kind is ErrorKind.DNS
    assert "nowhere.invalid was not found" in failure.message
    assert not failure.retry_may_help


def test_refused_and_timeout_are_unreachable_and_worth_retrying() -> None:
    refused = aiohttp.ClientConnectorError(_connection_key(), ConnectionRefusedError(111, "Connection refused"))
    failure = describe_failure(_as_livekit_raises(refused), host=HOST)
    assert (failure.kind, failure.retry_may_help) == (ErrorKind.UNREACHABLE, True)
    assert "refused the connection" in failure.message

    try:
        raise APIConnectionError("OpenAI Realtime API connection timed out") from TimeoutError()
    except APIConnectionError as timed_out:
        failure = describe_failure(timed_out, host=HOST)
    assert failure.kind is ErrorKind.UNREACHABLE
    assert "timed out" in failure.message


def test_tls_failures() -> None:
    cert = aiohttp.ClientConnectorCertificateError(
        _connection_key(), ssl.SSLCertVerificationError(1, "certificate verify failed")
    )
    assert describe_failure(_as_livekit_raises(cert), host=HOST).kind is ErrorKind.TLS
    wrong_protocol = aiohttp.ClientConnectorSSLError(_connection_key(), ssl.SSLError(1, "wrong version number"))
    failure = describe_failure(_as_livekit_raises(wrong_protocol), host=HOST)
    assert failure.kind is ErrorKind.TLS
    assert "secure (TLS) connection" in failure.message


@pytest.mark.parametrize(
    ("body", "kind", "words"),
    [
        ({"type": "invalid_request_error", "code": "invalid_api_key", "message": "Incorrect API key"}, ErrorKind.AUTH, "Incorrect API key"),
        ({"type": "insufficient_quota", "code": "insufficient_quota", "message": "You exceeded your quota"}, ErrorKind.QUOTA, "exceeded your quota"),
        ({"type": "invalid_request_error", "code": "rate_limit_exceeded", "message": "Slow down"}, ErrorKind.QUOTA, "Slow down"),
        ({"type": "invalid_request_error", "code": "invalid_value", "message": "Invalid value: 'robot'. Supported values are: 'alloy', 'marin'."}, ErrorKind.SERVER, "Invalid value: 'robot'"),
    ],
)
def test_server_error_events_keep_the_server_words(body: dict[str, str], kind: ErrorKind, words: str) -> None:
    error = APIError("OpenAI Realtime API returned an error", body=body, retryable=kind is ErrorKind.SERVER)
    failure = describe_failure(error, host=HOST)
    assert failure.kind is kind
    assert words in failure.message
    assert describe_server_error(body)[0] is kind


def test_server_error_body_as_sdk_object() -> None:
    from openai.types.realtime.realtime_error import RealtimeError

    body = RealtimeError(type="invalid_request_error", code="unknown_parameter", message="Unknown parameter: 'x'.")
    failure = describe_failure(APIError("returned an error", body=body), host=HOST)
    assert failure.kind is ErrorKind.SERVER
    assert "Unknown parameter: 'x'" in failure.message


def test_lost_connection() -> None:
    failure = describe_failure(APIConnectionError("OpenAI Realtime API connection closed unexpectedly"), host=HOST)
    assert failure.kind is ErrorKind.UNREACHABLE
    assert failure.retry_may_help


def test_unknown_errors_are_internal() -> None:
    assert describe_failure(KeyError("boom")).kind is ErrorKind.INTERNAL


def test_detail_never_carries_a_secret() -> None:
    key = Secret("sk-test-secret-value-123456")
    failure = describe_failure(RuntimeError(f"header api-key: {key.reveal()}"))
    assert key.reveal() not in failure.detail
