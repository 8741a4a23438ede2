"""Plain words for every way a Microsoft Entra ID sign-in fails.

azure-identity and MSAL report failures as exceptions whose text carries Entra's
``AADSTS`` codes and OAuth error names; the user needs to know what to do instead.
"""

from __future__ import annotations

import re

from azassist.core.auth import TokenError
from azassist.core.secrets import redact

CANCELLED = "Sign-in was cancelled."
WRONG_TENANT = (
    "This account cannot sign in to that tenant. If your Azure OpenAI resource belongs to another "
    "organisation (you are a guest there), enter that organisation's tenant ID or domain in "
    "Settings › Connection › Tenant."
)
APP_NOT_FOUND = (
    "The client ID in Settings › Connection is not an application registered in this tenant. "
    "Leave it empty to use the default, or check it with your administrator."
)
CONSENT_REQUIRED = (
    "Your organisation has not allowed this application to sign you in to Azure OpenAI (consent "
    "is required). Ask an administrator to grant consent, or use a client ID your organisation "
    "registered (see the README's section on credentials)."
)
MISSING_ROLE = (
    "You are signed in, but your account may not use this Azure OpenAI resource (HTTP 403). Ask an "
    "administrator to give you the 'Cognitive Services OpenAI User' role on the resource."
)
EXPIRED = (
    "Your Microsoft Entra ID sign-in has expired and could not be renewed. Sign in again "
    "(Settings › Connection › Sign in)."
)
BLOCKED = (
    "Your organisation's access policy (Conditional Access) blocked this sign-in, e.g. from this "
    "device or network. Ask your administrator, or try the Azure CLI sign-in on a managed device."
)
NOT_SIGNED_IN = "You are not signed in to Microsoft Entra ID. Sign in in Settings › Connection first."
NO_NETWORK = (
    "Microsoft Entra ID could not be reached to sign you in: check your network connection "
    "(and proxy), then try again."
)
TIMED_OUT = "Sign-in was not completed in time. Try again."
NO_BROWSER = "No web browser could be opened for sign-in. Choose 'Device code' as the sign-in method instead."
NO_AZ = (
    "The Azure CLI ('az') is not installed or not on PATH. Install it and run 'az login', or choose "
    "another sign-in method."
)
AZ_NOT_LOGGED_IN = "The Azure CLI is not signed in. Run 'az login' in a terminal, then connect again."

_WRONG_TENANT_CODES = ("AADSTS50020", "AADSTS90002", "AADSTS50128", "AADSTS90072", "AADSTS50059")
_CONSENT_CODES = ("AADSTS65001", "AADSTS90094", "AADSTS90008", "consent_required")
_EXPIRED_CODES = ("AADSTS700082", "AADSTS50173", "AADSTS70043", "AADSTS50078", "AADSTS50076", "invalid_grant")
_BLOCKED_CODES = ("AADSTS53000", "AADSTS53001", "AADSTS53002", "AADSTS53003", "AADSTS530003")
_CANCEL_CODES = ("AADSTS65004", "access_denied", "user_cancel", "authorization_declined")


def _has(text: str, codes: tuple[str, ...]) -> bool:
    return any(re.search(rf"\b{re.escape(code)}\b", text) for code in codes)


def describe(exc: BaseException, *, during_sign_in: bool) -> TokenError:
    """A TokenError with plain words for ``exc``; the redacted original goes into ``detail``."""
    from azure.core.exceptions import ServiceRequestError
    from azure.identity import AuthenticationRequiredError, CredentialUnavailableError

    text = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        text += f" (caused by {type(cause).__name__}: {cause})"
    detail = redact(text)
    if _has(text, _WRONG_TENANT_CODES):
        return TokenError(WRONG_TENANT, detail)
    if _has(text, ("AADSTS700016",)):
        return TokenError(APP_NOT_FOUND, detail)
    if _has(text, _CONSENT_CODES):
        return TokenError(CONSENT_REQUIRED, detail)
    if _has(text, _BLOCKED_CODES):  # also 'access_denied', but no one cancelled
        return TokenError(BLOCKED, detail)
    if _has(text, _CANCEL_CODES):
        return TokenError(CANCELLED, detail)
    if isinstance(exc, AuthenticationRequiredError):
        return TokenError(EXPIRED if not during_sign_in else NOT_SIGNED_IN, detail)
    if _has(text, _EXPIRED_CODES):
        return TokenError(EXPIRED, detail)
    if _network_failure(exc):
        return TokenError(NO_NETWORK, detail)
    lowered = text.lower()
    if "timed out" in lowered and "authenticate" in lowered:
        return TokenError(TIMED_OUT, detail)
    if "failed to open a browser" in lowered:
        return TokenError(NO_BROWSER, detail)
    if isinstance(exc, CredentialUnavailableError) and "azure cli not found" in lowered:
        return TokenError(NO_AZ, detail)
    if isinstance(exc, CredentialUnavailableError) and "az login" in lowered:
        return TokenError(AZ_NOT_LOGGED_IN, detail)
    if isinstance(exc, ServiceRequestError):
        return TokenError(NO_NETWORK, detail)
    return TokenError(f"Microsoft Entra ID sign-in failed: {_first_line(exc)}", detail)


def _network_failure(exc: BaseException) -> bool:
    """A connection to the authority failed (DNS, refused, TLS, proxy): no AADSTS answer at all."""
    from azure.core.exceptions import ServiceRequestError

    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, ServiceRequestError | ConnectionError):
            return True
        name = type(seen).__name__
        if name in ("ConnectionError", "ConnectTimeout", "SSLError", "ProxyError", "NewConnectionError"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(exc: BaseException) -> str:
    message = redact(str(exc)).strip().splitlines()
    return message[0] if message else type(exc).__name__
