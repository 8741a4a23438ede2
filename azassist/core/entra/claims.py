"""Who is signed in, read from an access token's claims (never verified here: display only)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Account:
    """The signed-in account as the window shows it. Non-secret."""

    name: str = ""
    username: str = ""  # UPN or preferred_username
    tenant_id: str = ""
    object_id: str = ""

    @property
    def label(self) -> str:
        """'Name (upn)', or whichever of the two is known."""
        if self.name and self.username and self.name != self.username:
            return f"{self.name} ({self.username})"
        return self.name or self.username or "an account"


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT-shaped token; empty when it is not one (e.g. an opaque token)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def account_from_token(token: str) -> Account:
    claims = token_claims(token)
    return Account(
        name=str(claims.get("name") or ""),
        username=str(claims.get("upn") or claims.get("preferred_username") or claims.get("unique_name") or ""),
        tenant_id=str(claims.get("tid") or ""),
        object_id=str(claims.get("oid") or ""),
    )
