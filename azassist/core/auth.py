"""Where a connection's credentials come from: an API key or a Microsoft Entra ID token.

Both are seams. The window passes the keyring-backed ``CredentialStore``; the terminal
command adds ``AZURE_OPENAI_API_KEY``. For Entra ID, ``azassist.core.entra.EntraTokenProvider``
(azure-identity: browser, device code, Azure CLI) implements ``TokenProvider``;
``StaticTokenProvider`` carries a token obtained elsewhere (``AZURE_OPENAI_AD_TOKEN``).
"""

from __future__ import annotations

import os
from typing import Protocol

from azassist.core.credentials import CredentialError
from azassist.core.secrets import Secret

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"


class ApiKeySource(Protocol):
    """Anything that can hand out the API key of an endpoint host (CredentialStore does)."""

    def get_api_key(self, host: str) -> Secret | None: ...


class TokenError(Exception):
    """A token could not be obtained; ``message`` is for the user."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class TokenProvider(Protocol):
    """Gives a bearer token for ``ENTRA_SCOPE`` that is good for a while yet; may renew it.

    The engine asks at each of its own connects. LiveKit's reconnects inside one session
    (retries, the ``max_session_duration`` recycle) ask only when the model was built with
    ``azassist.core.entra.realtime.build_realtime_model``."""

    async def get_token(self) -> Secret: ...


class StaticTokenProvider:
    """A token obtained elsewhere (e.g. ``az account get-access-token``), used as is."""

    def __init__(self, token: Secret | None) -> None:
        self._token = token

    async def get_token(self) -> Secret:
        if not self._token:
            raise TokenError(
                "No Microsoft Entra ID token was given. Sign in (Settings › Connection › Sign in, "
                "or azassist talk --entra-id --sign-in ...), or use an API key."
            )
        return self._token


class EnvironmentKeySource:
    """``AZURE_OPENAI_API_KEY`` if set (an explicit choice for this run), else the keyring."""

    ENV = "AZURE_OPENAI_API_KEY"

    def __init__(self, fallback: ApiKeySource | None) -> None:
        self._fallback = fallback

    def get_api_key(self, host: str) -> Secret | None:
        value = os.environ.get(self.ENV, "").strip()
        if value:
            return Secret(value)
        if self._fallback is None:
            return None
        return self._fallback.get_api_key(host)


class MemoryKeySource:
    """A key held for this run only (tests, the demo, a key typed but not saved)."""

    def __init__(self, key: Secret | None) -> None:
        self.key = key

    def get_api_key(self, host: str) -> Secret | None:
        return self.key


__all__ = [
    "ENTRA_SCOPE",
    "ApiKeySource",
    "CredentialError",
    "EnvironmentKeySource",
    "MemoryKeySource",
    "StaticTokenProvider",
    "TokenError",
    "TokenProvider",
]
