"""Turn whatever broke into one sentence a person can act on.

LiveKit wraps every failure in ``APIConnectionError``/``APIError`` whose message always says
"OpenAI Realtime API"; the real cause hides in the ``__cause__`` chain (an aiohttp handshake
error with the HTTP status, a DNS or TLS error, a refused socket) or in the ``body`` of a
server ``error`` event. ``describe_failure`` is a pure function of that chain so it can be
tested directly and through real failures alike.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from azassist.core.events import ErrorKind
from azassist.core.secrets import redact

# Codes the service uses for "you are out of quota / being throttled / not paying".
QUOTA_CODES = frozenset(
    {
        "insufficient_quota",
        "rate_limit_exceeded",
        "inference_rate_limit_exceeded",
        "billing_hard_limit_reached",
        "credit_balance_exhausted",
        "quota_exceeded",
        "too_many_requests",
        "429",
    }
)
AUTH_CODES = frozenset(
    {"invalid_api_key", "account_deactivated", "unauthorized", "authentication_error", "401"}
)


@dataclass(frozen=True)
class Failure:
    """A failure in plain words.

    ``retry_may_help`` tells the engine whether LiveKit's own reconnect attempts are worth
    waiting for (a refused or dropped socket) or are doomed (a rejected key, a missing
    deployment, an unknown host, a bad certificate).
    """

    kind: ErrorKind
    message: str
    detail: str
    retry_may_help: bool = False
    reconnect: bool = False  # the connection is unusable but a new one may well work


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, then its causes (explicit first, then implicit), each once.

    aiohttp's connector errors keep the socket error in ``os_error`` as well."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 20:
        seen.add(id(current))
        yield current
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BaseException) and id(os_error) not in seen:
            seen.add(id(os_error))
            yield os_error
        current = current.__cause__ or current.__context__


def describe_chain(error: BaseException) -> str:
    """One log line naming every link of the chain, secrets scrubbed."""
    parts = []
    for link in _chain(error):
        text = str(link) if not isinstance(link, aiohttp.WSServerHandshakeError) else (
            f"HTTP {link.status} {link.message}"
        )
        parts.append(f"{type(link).__name__}: {text}" if text else type(link).__name__)
    return redact(" <- ".join(parts))


def _field(body: Any, name: str) -> Any:
    if isinstance(body, dict):
        return body.get(name)
    return getattr(body, name, None)


def server_error_fields(body: Any) -> tuple[str, str, str]:
    """(code, type, message) of a server ``error`` body, a dict or an SDK object."""
    if body is None:
        return "", "", ""
    nested = _field(body, "error")  # a whole event was passed, not just its error
    if nested is not None and _field(body, "message") is None:
        body = nested
    code, kind, message = (_field(body, key) for key in ("code", "type", "message"))
    return str(code or ""), str(kind or ""), str(message or "")


def describe_server_error(body: Any, *, auth_word: str = "API key") -> tuple[ErrorKind, str]:
    """An ``error`` event (or a failed response) from the service, in its own words."""
    code, kind, message = server_error_fields(body)
    said = message.strip().rstrip(".") or code or kind or "an unexplained error"
    if code in AUTH_CODES or kind in AUTH_CODES:
        return ErrorKind.AUTH, f"The service rejected your {auth_word}: {said}."
    if code in QUOTA_CODES or kind in QUOTA_CODES:
        return (
            ErrorKind.QUOTA,
            f"Your Azure OpenAI quota or rate limit was reached: {said}. "
            "Wait a moment and try again, or raise the deployment's quota in Azure AI Foundry.",
        )
    return ErrorKind.SERVER, f"The service reported an error: {said}."


def _http_failure(status: int, host: str, deployment: str, auth_word: str, what: str) -> tuple[ErrorKind, str]:
    if status == 403 and auth_word == "sign-in token":
        return (
            ErrorKind.AUTH,
            "You are signed in, but your account may not use this Azure OpenAI resource (HTTP 403). Ask an "
            "administrator to give you the 'Cognitive Services OpenAI User' role on the resource.",
        )
    if status in (401, 403):
        return (
            ErrorKind.AUTH,
            f"{host} rejected your {auth_word} (HTTP {status}). Check that it belongs to "
            "this Azure OpenAI resource and has not been regenerated.",
        )
    if status == 404:
        name = f"'{deployment}'" if deployment else "with that name"
        return (
            ErrorKind.NOT_FOUND,
            f"There is no {what} {name} at {host} (HTTP 404). Check the "
            "deployment name in Azure AI Foundry, and that the endpoint is the right resource.",
        )
    if status == 429:
        return (
            ErrorKind.QUOTA,
            f"{host} is limiting requests (HTTP 429): your quota or rate limit was reached. "
            "Wait a moment and try again.",
        )
    if status == 400:
        return (
            ErrorKind.SERVER,
            f"{host} refused the connection request (HTTP 400). If you set a legacy API "
            "version, check it, or clear it to use the current protocol.",
        )
    if status >= 500:
        return (
            ErrorKind.SERVER,
            f"{host} had a problem of its own (HTTP {status}). Try again in a moment.",
        )
    return ErrorKind.SERVER, f"{host} refused the connection (HTTP {status})."


def describe_failure(
    error: BaseException,
    *,
    host: str = "",
    deployment: str = "",
    auth_word: str = "API key",
    what: str = "realtime deployment",
) -> Failure:
    """Classify ``error`` by the most specific cause in its chain; ``what`` names the
    deployment kind in a 404 (the text-to-speech deployment fails on its own)."""
    host = host or "the endpoint"
    detail = describe_chain(error)
    links = list(_chain(error))
    for link in links:  # the sign-in itself failed: its own words say why
        said = getattr(link, "message", None) if type(link).__name__ == "TokenError" else None
        if said:
            return Failure(ErrorKind.AUTH, str(said), detail)

    def found(kind: ErrorKind, message: str, retry: bool = False) -> Failure:
        return Failure(kind, message, detail, retry)

    for link in links:  # an HTTP answer is the most precise thing we can have
        status = getattr(link, "status", None) if isinstance(link, aiohttp.ClientResponseError) else None
        status = status if status is not None else getattr(link, "status_code", None)
        if isinstance(status, int) and status >= 400:
            kind, message = _http_failure(status, host, deployment, auth_word, what)
            return found(kind, message, retry=status == 429 or status >= 500)

    for link in links:
        if isinstance(link, (aiohttp.ClientConnectorCertificateError, ssl.SSLCertVerificationError)):
            return found(
                ErrorKind.TLS,
                f"The certificate of {host} could not be verified, so azassist did not send "
                "your credentials. Check the endpoint address, or your network's proxy.",
            )
        if isinstance(link, (aiohttp.ClientSSLError, ssl.SSLError)):
            return found(
                ErrorKind.TLS,
                f"A secure (TLS) connection to {host} could not be set up. Check that the "
                "endpoint starts with https:// and is an Azure OpenAI address.",
            )
        if isinstance(link, (aiohttp.ClientConnectorDNSError, socket.gaierror)):
            return found(
                ErrorKind.DNS,
                f"The endpoint host {host} was not found. Check the endpoint address for "
                "typos, and that you are online.",
            )
    for link in links:
        if isinstance(link, ConnectionRefusedError):
            return found(
                ErrorKind.UNREACHABLE,
                f"{host} refused the connection. Check the endpoint address and port.",
                retry=True,
            )
        if isinstance(link, (asyncio.TimeoutError, TimeoutError, aiohttp.ServerTimeoutError)):
            return found(
                ErrorKind.UNREACHABLE,
                f"Connecting to {host} timed out. Check your network connection, proxy or "
                "firewall.",
                retry=True,
            )
    for link in links:
        body = getattr(link, "body", None)
        if body is not None and any(server_error_fields(body)):
            kind, message = describe_server_error(body, auth_word=auth_word)
            return found(kind, message)
    for link in links:
        if isinstance(link, (aiohttp.ClientConnectionError, ConnectionError, OSError)):
            return found(
                ErrorKind.UNREACHABLE,
                f"Cannot reach {host}. Check your network connection.",
                retry=True,
            )
    if _raised_reading_the_service(error):
        return Failure(
            ErrorKind.SERVER,
            f"{host} sent a message azassist could not read ({type(error).__name__}).",
            detail,
            reconnect=True,
        )
    text = str(error)
    if "closed unexpectedly" in text or "connection" in text.lower():
        return found(
            ErrorKind.UNREACHABLE,
            f"The connection to {host} was lost.",
            retry=True,
        )
    return found(ErrorKind.INTERNAL, "Something went wrong inside azassist; the log has the details.")


_LIVEKIT_WRAPPERS = frozenset({"APIError", "APIConnectionError", "APIStatusError", "APITimeoutError", "RealtimeError"})


def _raised_reading_the_service(error: BaseException) -> bool:
    """Raised inside LiveKit's realtime protocol code (its receive loop or an event handler)
    by something other than an HTTP or network failure: what the service sent, not a bug
    of ours, and a new connection may well be fine."""
    for link in _chain(error):
        if isinstance(link, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
            return False
        if type(link).__name__ in _LIVEKIT_WRAPPERS:
            continue  # LiveKit's own report of a failure: its cause says what it was
        traceback = link.__traceback__
        while traceback is not None:
            filename = traceback.tb_frame.f_code.co_filename.replace("\\", "/")
            if "/livekit/agents/llm/_realtime/" in filename or "/livekit/plugins/openai/realtime/" in filename:
                return True
            traceback = traceback.tb_next
    return False
