"""Microsoft Entra ID tokens from azure-identity, behind the engine's ``TokenProvider`` seam.

One provider per connection settings: it holds a sync azure-identity credential (browser,
device code or Azure CLI), runs every call to it off the event loop (``asyncio.to_thread``)
so neither the window nor ``talk`` ever blocks on a sign-in, and hands out a token that is
still good for a while: a cached token is reused until its ``refresh_on`` or 5 minutes
before it expires, then renewed silently (MSAL's refresh token). Sign-in state survives a
restart through the non-secret ``AuthenticationRecord`` (kept in settings) plus
azure-identity's *encrypted* persistent cache where the platform has one; where it has not
(Linux without libsecret/PyGObject), tokens stay in memory and ``cache_note`` says so.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from azassist.core.auth import ENTRA_SCOPE, TokenError
from azassist.core.entra import errors
from azassist.core.entra.claims import Account, account_from_token
from azassist.core.secrets import Secret
from azassist.core.settings import LOOPBACK_HOSTS, ConnectionSettings, SignInMethod

log = logging.getLogger(__name__)

CACHE_NAME = "azassist"
REFRESH_MARGIN_S = 300  # azure-identity's own DEFAULT_REFRESH_OFFSET
AUTHORITY_ENV = "AZASSIST_ENTRA_AUTHORITY"  # another cloud's authority host (or a local test authority)
MEMORY_ONLY_NOTE = (
    "Your sign-in is kept in memory only: this system has no encrypted token store that "
    "azassist can use (on Linux: the Secret Service via libsecret/PyGObject). You may need to "
    "sign in again after a restart."
)


@dataclass(frozen=True)
class DeviceCodePrompt:
    """What the user must type, and where, for a device-code sign-in."""

    verification_uri: str
    user_code: str
    expires_on: datetime


@dataclass(frozen=True)
class EntraConfig:
    """Everything that decides which credential is built. Non-secret."""

    method: SignInMethod = SignInMethod.BROWSER
    tenant_id: str = "organizations"
    client_id: str = ""  # empty: azure-identity's default public client (developer sign-on)
    authority: str = ""  # empty: login.microsoftonline.com (or $AZASSIST_ENTRA_AUTHORITY)
    record: str = ""  # AuthenticationRecord.serialize() of the last sign-in
    persistent_cache: bool = True  # only ever the encrypted one
    timeout_s: int = 300  # how long a browser or device-code sign-in may take
    extra: dict[str, Any] = field(default_factory=dict)  # more credential keywords (tests: connection_verify)

    @classmethod
    def from_settings(cls, connection: ConnectionSettings, **overrides: Any) -> EntraConfig:
        import os

        config = cls(
            method=connection.entra_method,
            tenant_id=connection.entra_tenant or "organizations",
            client_id=connection.entra_client_id,
            authority=os.environ.get(AUTHORITY_ENV, "").strip(),
            record=connection.entra_record,
        )
        return replace(config, **overrides) if overrides else config


class EntraTokenProvider:
    """A ``TokenProvider`` over azure-identity. Safe to share between the window and the engine.

    ``interactive``: whether ``get_token`` may start a sign-in by itself (``talk`` in a
    terminal: yes; the window's background connects: no, the user presses Sign in).
    """

    def __init__(
        self,
        config: EntraConfig,
        *,
        interactive: bool = False,
        on_device_code: Callable[[DeviceCodePrompt], None] | None = None,
        on_record: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.interactive = interactive
        self.on_device_code = on_device_code
        self.on_record = on_record
        self.cache_note: str | None = None
        self.account: Account | None = None
        self._record = config.record
        self._credential: Any = None
        self._token: Secret | None = None
        self._expires_on = 0.0
        self._refresh_on = 0.0
        self._lock = asyncio.Lock()
        self._cancel = threading.Event()
        self._busy = False

    # --- the TokenProvider seam -----------------------------------------------------------

    async def get_token(self) -> Secret:
        """A token good for at least a few more minutes (or as long as the authority gives)."""
        async with self._lock:
            if self._token is not None and time.time() < self._refresh_on:
                return self._token
            return await self._fetch(allow_prompt=self.interactive)

    # --- sign-in, sign-out, cancel --------------------------------------------------------

    @property
    def record(self) -> str:
        """The serialized AuthenticationRecord of the signed-in account ('' if none)."""
        return self._record

    @property
    def signed_in(self) -> bool:
        return bool(self._record) or (self.config.method is SignInMethod.AZURE_CLI and self._token is not None)

    @property
    def busy(self) -> bool:
        return self._busy

    async def sign_in(self) -> Account:
        """Interactive sign-in (browser or device code), or the Azure CLI's login; the account."""
        async with self._lock:
            self._token = None
            await self._fetch(allow_prompt=True, authenticate=True)
            assert self.account is not None
            return self.account

    def cancel(self) -> None:
        """Stops a sign-in in progress: the browser wait ends within half a second and a
        device-code poll at its next request; the waiting call raises 'Sign-in was cancelled'."""
        self._cancel.set()

    def sign_out(self) -> None:
        """Forgets the account and its tokens in this process (the saved record too, via ``on_record``)."""
        self.cancel()
        self._credential = None
        self._token = None
        self._refresh_on = self._expires_on = 0.0
        self.account = None
        if self._record:
            self._record = ""
            if self.on_record is not None:
                self.on_record("")

    # --- internals ------------------------------------------------------------------------

    async def _fetch(self, *, allow_prompt: bool, authenticate: bool = False) -> Secret:
        self._cancel.clear()
        self._busy = True
        try:
            info = await asyncio.to_thread(self._fetch_sync, allow_prompt, authenticate)
        except asyncio.CancelledError:
            self._cancel.set()  # the thread stops soon; nobody waits for it
            raise
        except TokenError:
            raise
        except Exception as exc:
            if self._cancel.is_set():
                raise TokenError(errors.CANCELLED, errors.redact(str(exc))) from exc
            raise errors.describe(exc, during_sign_in=authenticate or not self._record) from exc
        finally:
            self._busy = False
        token = Secret(info.token)
        self._token = token
        self._expires_on = float(info.expires_on)
        refresh_on = float(info.refresh_on) if getattr(info, "refresh_on", None) else 0.0
        margin = self._expires_on - REFRESH_MARGIN_S
        self._refresh_on = min(refresh_on, margin) if refresh_on else margin
        self.account = account_from_token(info.token)
        return token

    def _fetch_sync(self, allow_prompt: bool, authenticate: bool) -> Any:
        """Runs in a worker thread: builds the credential once, then asks it for a token."""
        credential = self._credential or self._build()
        self._credential = credential
        if self.config.method is SignInMethod.AZURE_CLI:
            return credential.get_token_info(ENTRA_SCOPE)
        from azure.identity import AuthenticationRequiredError

        if authenticate:
            record = credential.authenticate(scopes=[ENTRA_SCOPE])
            self._remember(record.serialize())
        try:
            info = credential.get_token_info(ENTRA_SCOPE)
        except AuthenticationRequiredError:
            if not allow_prompt:
                raise
            record = credential.authenticate(scopes=[ENTRA_SCOPE])
            self._remember(record.serialize())
            info = credential.get_token_info(ENTRA_SCOPE)
        return info

    def _remember(self, record: str) -> None:
        if record != self._record:
            self._record = record
            if self.on_record is not None:
                self.on_record(record)

    def _build(self) -> Any:
        from azure.identity import (
            AuthenticationRecord,
            AzureCliCredential,
            DeviceCodeCredential,
            InteractiveBrowserCredential,
        )

        config = self.config
        if config.method is SignInMethod.AZURE_CLI:
            tenant = config.tenant_id if config.tenant_id not in ("", "organizations", "common") else ""
            return AzureCliCredential(tenant_id=tenant)
        kwargs: dict[str, Any] = {
            "tenant_id": config.tenant_id or "organizations",
            # background calls never pop a browser; a sign-in is always asked for
            "disable_automatic_authentication": True,
            "transport": _cancellable_transport(self._cancel),
            **config.extra,
        }
        if config.client_id:
            kwargs["client_id"] = config.client_id
        if config.authority:
            kwargs["authority"] = config.authority
            host = urlparse(config.authority if "//" in config.authority else f"https://{config.authority}").hostname
            if host in LOOPBACK_HOSTS:
                kwargs["disable_instance_discovery"] = True  # a local authority has no instance metadata
        if self._record:
            try:
                kwargs["authentication_record"] = AuthenticationRecord.deserialize(self._record)
                # the record names its own authority and tenant; azure-identity refuses both twice
                kwargs.pop("authority", None)
                kwargs.pop("tenant_id", None)
            except (ValueError, KeyError, TypeError):
                log.warning("the saved Entra ID sign-in record could not be read; signing in again")
                self._record = ""
        cache = self._cache_options()
        if cache is not None:
            kwargs["cache_persistence_options"] = cache
        if config.method is SignInMethod.DEVICE_CODE:
            return DeviceCodeCredential(prompt_callback=self._device_code, timeout=config.timeout_s, **kwargs)
        return InteractiveBrowserCredential(timeout=config.timeout_s, _server_class=_redirect_server(self._cancel), **kwargs)

    def _device_code(self, verification_uri: str, user_code: str, expires_on: datetime) -> None:
        if self.on_device_code is not None:
            self.on_device_code(DeviceCodePrompt(verification_uri, user_code, expires_on))

    def _cache_options(self) -> Any:
        """The encrypted persistent cache if this platform has one; else None (memory) and a note."""
        if not self.config.persistent_cache:
            return None
        from azure.identity import TokenCachePersistenceOptions

        options = TokenCachePersistenceOptions(name=CACHE_NAME)  # never allow_unencrypted_storage
        try:
            # azure-identity only finds out at the first token; ask now (pinned: azure-identity 1.27).
            from azure.identity._persistent_cache import _load_persistent_cache

            _load_persistent_cache(options)
        except Exception as exc:
            log.info("no encrypted token cache here (%s): tokens stay in memory", type(exc).__name__)
            self.cache_note = MEMORY_ONLY_NOTE
            return None
        return options


def _cancellable_transport(cancelled: threading.Event) -> Any:
    """azure-core's requests transport that refuses to send once a sign-in is cancelled: the
    device-code poll (a loop inside MSAL) then ends at its next request."""
    from azure.core.exceptions import ServiceRequestError
    from azure.core.pipeline.transport import RequestsTransport

    class CancellableTransport(RequestsTransport):
        def send(self, request: Any, **kwargs: Any) -> Any:
            if cancelled.is_set():
                raise ServiceRequestError("sign-in cancelled")
            return super().send(request, **kwargs)

    return CancellableTransport()


def _redirect_server(cancelled: threading.Event) -> Any:
    """The browser flow's loopback server, polled every half second so Cancel can end it.

    Pinned to azure-identity 1.27's private ``_server_class`` keyword and
    ``AuthCodeRedirectServer`` (tests/core/entra fails if either changes)."""
    from azure.identity._internal import AuthCodeRedirectServer

    class CancellableRedirectServer(AuthCodeRedirectServer):
        def __init__(self, hostname: str, port: int, timeout: int) -> None:
            super().__init__(hostname, port, timeout)
            self._deadline = time.monotonic() + timeout
            self.timeout = 0.5

        def handle_timeout(self) -> None:
            if cancelled.is_set() or time.monotonic() >= self._deadline:
                self.server_close()

    return CancellableRedirectServer


_shared: dict[tuple[Any, ...], EntraTokenProvider] = {}


def shared_provider(connection: ConnectionSettings) -> EntraTokenProvider:
    """The one provider of this process for these sign-in settings, so the Sign in button in
    Settings and the engine's connects share one credential (and its tokens in memory).

    A new method, tenant, client ID or authority gives a new provider; the saved record is
    taken from ``connection`` only when the provider is made."""
    config = EntraConfig.from_settings(connection)
    key = (config.method, config.tenant_id, config.client_id, config.authority)
    provider = _shared.get(key)
    if provider is None:
        provider = _shared[key] = EntraTokenProvider(config)
    return provider
