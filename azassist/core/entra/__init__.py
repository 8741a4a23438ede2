"""Microsoft Entra ID sign-in (Qt-free): azure-identity credentials behind ``TokenProvider``.

``provider`` holds the credentials, ``errors`` the plain words, ``claims`` who is signed in;
``realtime`` (imports LiveKit) is the seam that renews tokens at LiveKit's own reconnects.
"""

from __future__ import annotations

from azassist.core.entra.claims import Account, account_from_token, token_claims
from azassist.core.entra.provider import (
    MEMORY_ONLY_NOTE,
    DeviceCodePrompt,
    EntraConfig,
    EntraTokenProvider,
    shared_provider,
)

__all__ = [
    "MEMORY_ONLY_NOTE",
    "Account",
    "DeviceCodePrompt",
    "EntraConfig",
    "EntraTokenProvider",
    "account_from_token",
    "shared_provider",
    "token_claims",
]
