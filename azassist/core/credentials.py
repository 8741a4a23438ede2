"""API keys in the operating system's keyring, never in a file.

Keys are stored under service ``azassist``, one per endpoint host, so several Azure resources
can coexist. Every keyring failure becomes a ``CredentialError`` with a message a person can
act on; the app can then keep the key in memory for this run only. Plain-text keyring
backends (keyrings.alt) are refused outright.
"""

from __future__ import annotations

import logging

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from azassist.core.secrets import Secret

log = logging.getLogger(__name__)

SERVICE = "azassist"
_INSECURE_MODULE_PREFIXES = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")


class CredentialError(Exception):
    """A keyring problem in plain words (``message``), with the technical cause in ``detail``."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


def _describe_backend(backend: KeyringBackend) -> str:
    name = type(backend).__name__
    module = type(backend).__module__
    friendly = {
        "keyring.backends.SecretService": "Secret Service (GNOME Keyring / KWallet)",
        "keyring.backends.kwallet": "KWallet",
        "keyring.backends.macOS": "macOS Keychain",
        "keyring.backends.Windows": "Windows Credential Manager",
        "keyring.backends.libsecret": "libsecret",
    }
    return friendly.get(module, f"{module}.{name}")


def _plain_words(exc: Exception, action: str) -> CredentialError:
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, keyring.errors.NoKeyringError):
        message = (
            f"No system keyring is available to {action}. On Linux install and start a "
            "Secret Service (for example gnome-keyring or KWallet) and log in again; "
            "meanwhile you can use the key for this session only."
        )
    elif isinstance(exc, keyring.errors.KeyringLocked):
        message = (
            f"The system keyring is locked, so azassist cannot {action}. Unlock it "
            "(for example by logging in to your desktop again) and retry."
        )
    elif isinstance(exc, keyring.errors.InitError):
        message = (
            f"The system keyring asked to be unlocked and the request was dismissed, so "
            f"azassist cannot {action}. Unlock your keyring and retry, or use the key for "
            "this session only."
        )
    else:
        message = f"The system keyring failed while trying to {action}: {exc or type(exc).__name__}."
    return CredentialError(message, detail)


class CredentialStore:
    """Get, set and delete API keys; a key given "for this run only" stays in memory."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service
        self._memory: dict[str, Secret] = {}

    def _backend(self) -> KeyringBackend:
        try:
            backend = keyring.get_keyring()
        except keyring.errors.KeyringError:
            raise
        except Exception as exc:  # backend probing can fail with OS/D-Bus errors
            raise keyring.errors.NoKeyringError(f"no usable keyring: {exc!r}") from exc
        module = type(backend).__module__
        if module.startswith(_INSECURE_MODULE_PREFIXES):
            raise keyring.errors.NoKeyringError(f"only an unusable backend was found ({module})")
        if getattr(backend, "priority", 1) <= 0:
            raise keyring.errors.NoKeyringError(f"backend {module} has no priority")
        return backend

    def backend_name(self) -> str:
        """Which keyring holds the keys, for the connection pane."""
        try:
            return _describe_backend(self._backend())
        except keyring.errors.KeyringError:
            return "none available"

    def get_api_key(self, host: str) -> Secret | None:
        return self.get_secret(host, "your API key")

    def get_secret(self, account: str, what: str) -> Secret | None:
        """Any secret of this service (``what`` names it in an error: "your API key")."""
        if account in self._memory:
            return self._memory[account]
        try:
            value = self._backend().get_password(self.service, account)
        except Exception as exc:  # KeyringError, and D-Bus errors surface as many types
            raise _plain_words(exc, f"read {what}") from exc
        return Secret(value) if value else None

    def set_api_key(self, host: str, key: Secret) -> None:
        """Store in the keyring; on failure raise, leaving the choice of memory to the caller."""
        if not key:
            raise CredentialError("The API key is empty.")
        self.set_secret(host, key, "your API key")

    def set_secret(self, account: str, value: Secret, what: str) -> None:
        try:
            self._backend().set_password(self.service, account, value.reveal())
        except Exception as exc:
            raise _plain_words(exc, f"save {what}") from exc
        self._memory.pop(account, None)

    def use_for_this_run(self, host: str, key: Secret) -> None:
        """Keep the key in memory only; it is gone when the app exits."""
        self._memory[host] = key

    def delete_api_key(self, host: str) -> None:
        self.delete_secret(host, "your API key")

    def delete_secret(self, account: str, what: str) -> None:
        self._memory.pop(account, None)
        try:
            self._backend().delete_password(self.service, account)
        except keyring.errors.PasswordDeleteError:
            pass  # nothing stored: already the wanted outcome
        except Exception as exc:
            raise _plain_words(exc, f"remove {what}") from exc
